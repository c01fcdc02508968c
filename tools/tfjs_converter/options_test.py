import json

import pytest

from tfjs_converter.errors import ConversionError
from tfjs_converter.options import ConversionOptions, read_metadata


def test_defaults_match_tensorflowjs_converter_except_control_flow():
    options = ConversionOptions()
    assert options.quantization is None
    assert options.quantization_dtype_map() is None
    assert options.weight_shard_size_bytes == 4 * 1024 * 1024
    assert options.control_flow_v2 is True
    assert options.fft_as_matmul is False


def test_quantizing_all_weights_is_a_fallthrough():
    assert ConversionOptions(quantization="uint8").quantization_dtype_map() == {"uint8": True}


def test_quantization_patterns_are_passed_as_a_list():
    options = ConversionOptions(quantization="float16", quantization_patterns=("dense/*", "conv*"))
    assert options.quantization_dtype_map() == {"float16": ["dense/*", "conv*"]}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"quantization": "int4"},
            "unknown quantization 'int4': use one of float16, uint8, uint16",
        ),
        ({"quantization": "uint8", "quantization_patterns": ()}, "use '*' for all weights"),
        ({"quantization": "uint8", "quantization_patterns": (" ",)}, "use '*' for all weights"),
        ({"weight_shard_size_bytes": 0}, "weight shard size must be positive, not 0"),
    ],
)
def test_bad_options_are_rejected_with_the_fix(arguments, message):
    with pytest.raises(ConversionError, match=message.replace("*", r"\*")):
        ConversionOptions(**arguments)


def test_metadata_is_read_from_json_files(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps(["yes", "no"]))
    assert read_metadata({"labels": tmp_path / "labels.json"}) == {"labels": ["yes", "no"]}


def test_metadata_that_is_not_json_names_the_file(tmp_path):
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(
        ConversionError, match=r"metadata 'labels': .*labels.json is not a readable JSON file"
    ):
        read_metadata({"labels": tmp_path / "labels.json"})


def test_signature_settings_replace_model_options():
    from tfjs_converter.options import signature_options

    base = ConversionOptions(quantization="float16", quantization_patterns=("dense/*",))
    options = signature_options(
        base,
        "encode",
        [
            "quantization=uint8",
            "weight_shard_size_bytes=1024",
            "strip_debug_ops=true",
            "fft_as_matmul=1",
        ],
    )
    assert options == ConversionOptions(
        quantization="uint8", weight_shard_size_bytes=1024, strip_debug_ops=True, fft_as_matmul=True
    )
    assert signature_options(base, "encode", ["quantization=none"]).quantization is None
    patterns = signature_options(
        base, "encode", ["quantization_patterns=a*", "quantization_patterns=b*"]
    )
    assert patterns.quantization_patterns == ("a*", "b*")
    assert patterns.quantization == "float16"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ["quantisation=uint8"],
            "'quantisation=uint8' is not a KEY=VALUE option; the keys are quantization,",
        ),
        (["quantization"], "'quantization' is not a KEY=VALUE option"),
        (["quantization=int4"], "signature 'encode': unknown quantization 'int4'"),
        (["weight_shard_size_bytes=big"], "weight_shard_size_bytes='big' is not a whole number"),
        (["weight_shard_size_bytes=0"], "weight shard size must be positive, not 0"),
        (["skip_op_check=maybe"], "skip_op_check='maybe' is not a boolean"),
        (
            ["quantization=none", "quantization_patterns=a*"],
            "quantization_patterns is set but quantization is none",
        ),
        (["quantization=uint8", "quantization=float16"], "quantization is set twice"),
    ],
)
def test_bad_signature_settings_name_the_signature_and_the_fix(settings, message):
    from tfjs_converter.options import signature_options

    with pytest.raises(ConversionError, match=message.replace("*", r"\*").replace("(", r"\(")):
        signature_options(ConversionOptions(), "encode", settings)
