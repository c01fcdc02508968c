"""Conversions and exports need nothing undeclared: strict sandbox, no network, no host environment."""

from conftest import BUILT_TARGETS, output_digests


def test_actions_pass_sandboxed_without_network_or_host_environment(second_checkout, main_outputs):
    second_checkout("clean")
    second_checkout(
        "build",
        "--spawn_strategy=sandboxed",
        "--strategy=TfjsConvert=sandboxed",
        "--incompatible_strict_action_env",
        "--sandbox_default_allow_network=false",
        *BUILT_TARGETS,
    )
    assert output_digests(second_checkout.bin) == main_outputs
