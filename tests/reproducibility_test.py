"""Outputs and action keys do not depend on the checkout, output base, process or environment copy."""

import json

from conftest import BUILT_TARGETS, output_digests

CACHED_MNEMONICS = ("TfjsConvert", "TfjsSavedModel")


def _action_keys(bazel) -> dict[tuple[str, str], str]:
    query = " + ".join(f"deps({target})" for target in BUILT_TARGETS)
    result = bazel(
        "aquery",
        f"mnemonic('{'|'.join(CACHED_MNEMONICS)}', {query})",
        "--output=jsonproto",
    )
    graph = json.loads(result.stdout)
    labels = {target["id"]: target["label"] for target in graph["targets"]}
    return {
        (action["mnemonic"], labels[action["targetId"]]): action["actionKey"]
        for action in graph["actions"]
    }


def test_another_checkout_with_a_recreated_environment_builds_identical_bytes(
    bazel, main_outputs, checkouts, tmp_path_factory
):
    fresh_cache = tmp_path_factory.mktemp("environment_cache")
    other = checkouts.new("recreated_environment", env={"RULES_TFJS_CACHE": str(fresh_cache)})

    # One-shot converter processes here; the main workspace used the worker.
    other("build", "--strategy=TfjsConvert=sandboxed", *BUILT_TARGETS)

    assert [p.name for p in fresh_cache.iterdir()], "the environment was not re-created"
    assert output_digests(other.bin) == main_outputs
    keys = _action_keys(other)
    assert {mnemonic for mnemonic, _ in keys} == set(CACHED_MNEMONICS)
    assert keys == _action_keys(bazel)


def test_outputs_hold_no_machine_specific_paths(main_outputs, bazel):
    workspace = str(bazel.workspace)
    output_base = bazel("info", "output_base").stdout.strip()
    for relative in main_outputs:
        if relative.endswith("model.json"):
            text = (bazel.bin / relative).read_text()
            assert workspace not in text and output_base not in text, relative
