from tfjs_converter.tfjs_registry import (
    failing_on_strings,
    kernel_registry,
    ops_on_strings,
    refused_on_strings,
)


def test_ops_typed_with_strings_are_found_in_the_graph_and_its_functions():
    topology = {
        "node": [
            {"op": "Transpose", "attr": {"T": {"type": "DT_STRING"}}},
            {"op": "Transpose", "attr": {"T": {"type": "DT_FLOAT"}}},
            {"op": "Placeholder", "attr": {"dtype": {"type": "DT_STRING"}}},
        ],
        "library": {
            "function": [
                {"nodeDef": [{"op": "GatherV2", "attr": {"Tparams": {"type": "DT_STRING"}}}]}
            ]
        },
    }
    assert ops_on_strings(topology) == ["GatherV2", "Placeholder", "Transpose"]


def test_what_fails_on_strings_is_measured_per_backend():
    ops = ["ConcatV2", "Tile", "Transpose", "Placeholder"]
    assert refused_on_strings(ops) == ["Transpose"]
    assert failing_on_strings(ops, "cpu") == ["Transpose"]
    assert failing_on_strings(ops, "wasm") == ["Tile", "Transpose"]
    # Not measured: only what TF.js's op functions refuse everywhere.
    assert failing_on_strings(ops, "webgl") == ["Transpose"]
    assert kernel_registry()["string_ops"]["measured_on"] == ["cpu", "wasm"]
