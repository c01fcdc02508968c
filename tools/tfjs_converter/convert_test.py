import json
from pathlib import Path

import pytest

from tfjs_converter.convert import ConversionRequest, convert, convert_saved_model
from tfjs_converter.errors import ConversionError
from tfjs_converter.options import DEFAULT_OPTIONS, ConversionOptions

# tensorflowjs's own module, imported the only way the light environment allows.
from tfjs_converter.pipeline import tfjs_saved_model


def _model_json(directory: Path) -> dict:
    return json.loads((directory / "model.json").read_text())


def _computed_by(model: dict, output: str) -> tuple[str, list[str]]:
    """The op (past Identity nodes) that computes a model.json output, and its inputs."""
    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    node = nodes[model["signature"]["outputs"][output]["name"].split(":")[0]]
    while node["op"] == "Identity":
        node = nodes[node["input"][0]]
    return node["op"], node.get("input", [])


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_each_signature_gets_its_own_model_keyed_by_signature_names(tiny_saved_model, tmp_path):
    outputs = convert_saved_model(tiny_saved_model, ["scale", "mix"], tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix", "scale"]
    assert sorted(_files(outputs["scale"])) == ["group1-shard1of1.bin", "model.json"]
    scale = _model_json(outputs["scale"])["signature"]
    assert sorted(scale["inputs"]) == ["x"]
    assert sorted(scale["outputs"]) == ["y"]
    mix = _model_json(outputs["mix"])["signature"]
    assert sorted(mix["inputs"]) == ["offset", "weights"]
    assert sorted(mix["outputs"]) == ["mixed", "total"]


def test_inputs_and_outputs_that_share_dtype_and_shape_keep_their_keys(twins_saved_model, tmp_path):
    # tensorflowjs would name them by tensor (a:0, Identity:0), as its command line does.
    directory = convert_saved_model(twins_saved_model, ["serving_default"], tmp_path)[
        "serving_default"
    ]
    model = _model_json(directory)
    signature = model["signature"]
    assert {key: info["name"] for key, info in signature["inputs"].items()} == {
        "a": "a:0",
        "b": "b:0",
    }
    assert sorted(signature["outputs"]) == ["diff", "sum"]
    assert _computed_by(model, "sum") == ("AddV2", ["a", "b"])
    assert _computed_by(model, "diff") == ("Sub", ["a", "b"])


def test_keys_that_are_not_python_names_are_kept(odd_keys_saved_model, tmp_path):
    # The loaded signature takes them as Python names (image_input_v2, a_b),
    # in the order of those names.
    directory = convert_saved_model(odd_keys_saved_model, ["odd"], tmp_path)["odd"]
    model = _model_json(directory)
    signature = model["signature"]
    assert {key: info["name"] for key, info in signature["inputs"].items()} == {
        "Image-Input.v2": "image_input_v2:0",
        "MixedCase": "mixedcase:0",
        "a-b": "a_b:0",
        "a_a": "a_a:0",
    }
    assert sorted(signature["outputs"]) == ["Out-Put.1", "UPPER", "with space"]
    assert _computed_by(model, "UPPER") == ("Mul", ["image_input_v2", "mixedcase"])
    assert _computed_by(model, "with space") == ("Sub", ["image_input_v2", "mixedcase"])
    assert _computed_by(model, "Out-Put.1")[0] == "AddV2"


def test_a_signature_without_inputs_has_an_empty_inputs_map(triples_saved_model, tmp_path):
    # Protobuf's JSON would leave the empty map out; TF.js runners read it.
    directory = convert_saved_model(triples_saved_model, ["constant"], tmp_path)["constant"]
    signature = _model_json(directory)["signature"]
    assert signature["inputs"] == {}
    assert sorted(signature["outputs"]) == ["one"]


def test_weights_match_tensorflowjs_public_converter_byte_for_byte(tiny_saved_model, tmp_path):
    ours = convert_saved_model(tiny_saved_model, ["scale", "mix"], tmp_path / "ours")
    for signature, directory in ours.items():
        public = tmp_path / "public" / signature
        tfjs_saved_model.convert_tf_saved_model(
            str(tiny_saved_model), str(public), signature_def=signature, control_flow_v2=True
        )
        public_files = _files(public)
        our_files = _files(directory)
        assert sorted(public_files) == sorted(our_files)
        for name in public_files:
            if name.endswith(".bin"):
                assert our_files[name] == public_files[name], name
        assert (
            _model_json(directory)["weightsManifest"]
            == json.loads(public_files["model.json"])["weightsManifest"]
        )


def test_model_json_is_canonical_and_conversions_are_reproducible(tiny_saved_model, tmp_path):
    first = convert_saved_model(tiny_saved_model, ["mix"], tmp_path / "first")["mix"]
    second = convert_saved_model(tiny_saved_model, ["mix"], tmp_path / "second")["mix"]

    text = (first / "model.json").read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True)
    assert _files(first) == _files(second)


def test_unknown_signature_lists_the_models_signatures_and_writes_nothing(
    tiny_saved_model, tmp_path
):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(tiny_saved_model, ["scale", "wrong"], tmp_path)

    assert "has no signature 'wrong'; its signatures are: mix, scale" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_signature_leaves_no_signature_written(tiny_saved_model, tmp_path):
    options = ConversionOptions(quantization="uint8", quantization_patterns=("no_such_weight*",))
    with pytest.raises(
        ConversionError, match="quantization pattern 'no_such_weight\\*' matches no weight"
    ):
        convert_saved_model(tiny_saved_model, ["scale", "mix"], tmp_path, options=options)

    assert list(tmp_path.iterdir()) == []


def test_existing_output_directories_are_replaced(tiny_saved_model, tmp_path):
    stale = tmp_path / "scale"
    stale.mkdir()
    (stale / "group1-shard1of9.bin").write_bytes(b"stale")

    convert_saved_model(tiny_saved_model, ["scale"], tmp_path)

    assert sorted(_files(stale)) == ["group1-shard1of1.bin", "model.json"]


def test_staging_left_by_a_killed_conversion_is_removed(tiny_saved_model, tmp_path):
    (tmp_path / ".scale.staging-k1ll3d_0").mkdir()
    (tmp_path / ".scale.staging-k1ll3d_0" / "model.json").write_text("{")
    # Not this output's: the staging directory of an output named scale.b.
    (tmp_path / ".scale.b.staging-abcdefgh").mkdir()

    convert_saved_model(tiny_saved_model, ["scale"], tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [".scale.b.staging-abcdefgh", "scale"]


def test_an_output_named_like_another_and_more_converts_beside_it(tiny_saved_model, tmp_path):
    # a.b is staged first; staging a must not take a.b's staging for its own leftovers.
    outputs = {"scale": tmp_path / "a.b", "mix": tmp_path / "a"}
    convert(ConversionRequest(tiny_saved_model, outputs))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.b"]
    assert sorted(_model_json(tmp_path / "a.b")["signature"]["inputs"]) == ["x"]
    assert sorted(_model_json(tmp_path / "a")["signature"]["inputs"]) == ["offset", "weights"]


@pytest.mark.parametrize("signature", ["..", ".", "", "v1/predict", "../escaped"])
def test_a_signature_key_that_is_not_one_path_component_is_refused(
    tiny_saved_model, tmp_path, signature
):
    root = tmp_path / "keep" / "root"
    root.mkdir(parents=True)
    (tmp_path / "keep" / "precious.txt").write_text("kept")

    with pytest.raises(ConversionError) as error:
        convert_saved_model(tiny_saved_model, [signature], root)

    assert f"signature {signature!r} cannot name a directory under {root}" in str(error.value)
    assert "ConversionRequest(outputs={key: directory})" in str(error.value)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "keep",
        "keep/precious.txt",
        "keep/root",
    ]


def test_output_directories_that_hold_one_another_are_refused(tiny_saved_model, tmp_path):
    nested = {"scale": tmp_path / "v1", "mix": tmp_path / "v1" / "predict"}
    with pytest.raises(ConversionError) as error:
        convert(ConversionRequest(tiny_saved_model, nested))
    assert (
        f"the output directory of signature 'scale' ({tmp_path / 'v1'}) is or holds that of "
        f"signature 'mix' ({tmp_path / 'v1' / 'predict'})"
    ) in str(error.value)

    shared = {"scale": tmp_path / "same", "mix": tmp_path / "same"}
    with pytest.raises(ConversionError, match="give each signature a directory of its own"):
        convert(ConversionRequest(tiny_saved_model, shared))

    around = {"scale": Path(tiny_saved_model).parent}
    with pytest.raises(ConversionError, match="holds the SavedModel"):
        convert(ConversionRequest(tiny_saved_model, around))
    assert list(tmp_path.iterdir()) == []
    assert (Path(tiny_saved_model) / "saved_model.pb").is_file()


def test_quantization_is_applied_to_matching_weights(tiny_saved_model, tmp_path):
    plain = convert_saved_model(tiny_saved_model, ["mix"], tmp_path / "plain")["mix"]
    options = ConversionOptions(quantization="float16")
    half = convert_saved_model(tiny_saved_model, ["mix"], tmp_path / "half", options=options)["mix"]

    weights = _model_json(half)["weightsManifest"][0]["weights"]
    table = [w for w in weights if w["dtype"] == "float32"]
    assert [w["quantization"]["dtype"] for w in table] == ["float16"]
    assert all("quantization" not in w for w in weights if w["dtype"] != "float32")
    saved = (plain / "group1-shard1of1.bin").stat().st_size - (
        half / "group1-shard1of1.bin"
    ).stat().st_size
    assert saved == 5 * 2 * 2  # the 5x2 table, two bytes fewer per value


def test_weight_shard_size_splits_weights(tiny_saved_model, tmp_path):
    options = ConversionOptions(weight_shard_size_bytes=16)
    directory = convert_saved_model(tiny_saved_model, ["mix"], tmp_path, options=options)["mix"]

    shards = sorted(p.name for p in directory.glob("*.bin"))
    assert len(shards) == 3  # 40 bytes of table weights in 16-byte shards
    assert all(p.stat().st_size <= 16 for p in directory.glob("*.bin"))


def test_metadata_becomes_user_defined_metadata(tiny_saved_model, tmp_path):
    options = ConversionOptions(metadata={"labels": ["wake", "other"]})
    directory = convert_saved_model(tiny_saved_model, ["scale"], tmp_path, options=options)["scale"]

    assert _model_json(directory)["userDefinedMetadata"] == {"labels": ["wake", "other"]}


def test_unsupported_op_is_named_with_the_skip_op_check_fix(unsupported_op_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(unsupported_op_saved_model, ["gamma"], tmp_path / "checked")
    assert str(error.value).startswith(
        "signature 'gamma': TensorFlow.js has no kernel for op Lgamma"
    )
    assert "skip_op_check" in str(error.value)

    options = ConversionOptions(skip_op_check=True)
    directory = convert_saved_model(
        unsupported_op_saved_model, ["gamma"], tmp_path / "skipped", options=options
    )["gamma"]
    ops = {node["op"] for node in _model_json(directory)["modelTopology"]["node"]}
    assert "Lgamma" in ops


def test_debug_ops_are_named_with_the_strip_debug_ops_fix(checked_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(checked_saved_model, ["root"], tmp_path / "kept")
    assert str(error.value) == (
        "signature 'root': "
        "TensorFlow.js has no kernel for ops Assert, CheckNumerics: they only check values "
        "while debugging: set strip_debug_ops to remove them"
    )

    options = ConversionOptions(strip_debug_ops=True)
    directory = convert_saved_model(
        checked_saved_model, ["root"], tmp_path / "stripped", options=options
    )["root"]
    assert "Sqrt" in {node["op"] for node in _model_json(directory)["modelTopology"]["node"]}


def test_debug_ops_beside_other_unsupported_ops_get_both_fixes():
    from tfjs_converter.pipeline import _unsupported_ops_error

    assert str(_unsupported_ops_error(["Svd", "Assert"])) == (
        "TensorFlow.js has no kernel for ops Assert, Svd: change the model to avoid them, or "
        "set skip_op_check to convert anyway (the model then fails when it runs them); "
        "Assert only checks values while debugging: strip_debug_ops removes it"
    )


def test_an_op_named_unlike_its_api_is_named_with_it(tmp_path):
    import tensorflow as tf

    class Switch(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="branch")])
        def pick(self, branch):
            return {"y": tf.switch_case(branch, [lambda: 1.0, lambda: 2.0, lambda: 3.0])}

    module = Switch()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"pick": module.pick})
    with pytest.raises(ConversionError) as error:
        convert_saved_model(tmp_path / "model", ["pick"], tmp_path / "out")
    assert str(error.value).startswith(
        "signature 'pick': "
        "TensorFlow.js has no kernel for op _SwitchN (from tf.switch_case): change the model"
    )


def test_the_exact_gelu_converts_without_erfc(activations_saved_model, tmp_path):
    # TensorFlow's exact GELU is 0.5·x·erfc(-x/√2); TF.js has Erf, not Erfc.
    directory = convert_saved_model(activations_saved_model, ["squash"], tmp_path)["squash"]
    ops = {node["op"] for node in _model_json(directory)["modelTopology"]["node"]}
    assert "Erf" in ops
    assert "Erfc" not in ops


def test_control_flow_v2_keeps_while_loops(loop_saved_model, tmp_path):
    def ops(control_flow_v2: bool) -> set[str]:
        options = ConversionOptions(control_flow_v2=control_flow_v2)
        output = tmp_path / str(control_flow_v2)
        directory = convert_saved_model(loop_saved_model, ["halve"], output, options=options)[
            "halve"
        ]
        topology = _model_json(directory)["modelTopology"]
        names = {node["op"] for node in topology["node"]}
        for function in topology.get("library", {}).get("function", []):
            names |= {node["op"] for node in function.get("nodeDef", [])}
        return names

    assert ops(True) & {"While", "StatelessWhile"}
    assert not ops(True) & {"Enter", "Exit", "LoopCond"}
    assert {"Enter", "Exit", "LoopCond"} <= ops(False)


def _converted_three_times(saved_model, signature, between, options, output) -> list[Path]:
    """Conversions of one signature in this process, another model converted before each."""
    directories = []
    for attempt in range(3):
        convert_saved_model(between, ["halve"], output / f"between{attempt}")
        converted = convert_saved_model(
            saved_model, [signature], output / str(attempt), options=options
        )
        directories.append(converted[signature])
    return directories


def test_control_flow_converts_to_the_same_bytes_whatever_the_process_converted_before(
    refiner_saved_model, loop_saved_model, tmp_path
):
    # TensorFlow numbers the functions it loads and freezes with counters that
    # run for the whole process (a persistent worker's included).
    kept = _converted_three_times(
        refiner_saved_model, "refine", loop_saved_model, DEFAULT_OPTIONS, tmp_path / "kept"
    )
    assert _files(kept[0]) == _files(kept[1]) == _files(kept[2])
    model = _model_json(kept[0])
    assert [f["signature"]["name"] for f in model["modelTopology"]["library"]["function"]] == [
        "__inference_while_body_0",
        "__inference_while_cond_0",
        "__inference_cond_false_0",
        "__inference_cond_true_0",
    ]
    # tensorflowjs names a function's constants after the function.
    assert [w["name"] for group in model["weightsManifest"] for w in group["weights"]][-3:] == [
        "__inference_while_body_0/while/add_1/y",
        "__inference_cond_true_0/cond/mul/y",
        "__inference_cond_true_0/cond/add/y",
    ]

    # Lowered, the nodes TensorFlow makes carry a tracing note on some
    # conversions and not on others.
    lowered = _converted_three_times(
        refiner_saved_model,
        "refine",
        loop_saved_model,
        ConversionOptions(control_flow_v2=False),
        tmp_path / "lowered",
    )
    assert _files(lowered[0]) == _files(lowered[1]) == _files(lowered[2])
    assert "_has_manual_control_dependencies" not in (lowered[0] / "model.json").read_text()


def test_rewritten_loops_and_branches_convert_to_the_same_bytes_every_time(
    writer_saved_model, loop_saved_model, tmp_path
):
    # The rewrites for TF.js add nodes, arguments and results, each under a
    # name that depends on the graph alone.
    kept = _converted_three_times(
        writer_saved_model, "write", loop_saved_model, DEFAULT_OPTIONS, tmp_path / "kept"
    )
    assert _files(kept[0]) == _files(kept[1]) == _files(kept[2])
    functions = _model_json(kept[0])["modelTopology"]["library"]["function"]
    arguments = [a["name"] for f in functions for a in f["signature"]["inputArg"]]
    assert "stored" in arguments  # tensor_lists's loop variable

    lowered = _converted_three_times(
        writer_saved_model,
        "write",
        loop_saved_model,
        ConversionOptions(control_flow_v2=False),
        tmp_path / "lowered",
    )
    assert _files(lowered[0]) == _files(lowered[1]) == _files(lowered[2])
    nodes = [node["name"] for node in _model_json(lowered[0])["modelTopology"]["node"]]
    assert any(name.endswith("/taken") for name in nodes)  # lowered_loops's Identity


def test_a_branch_without_inputs_lists_no_input_arguments(tmp_path):
    # TF.js reads a function's inputArg without checking for it; protobuf's
    # JSON leaves an empty list out.
    import tensorflow as tf

    class Sign(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def sign(self, x):
            positive = tf.reduce_sum(x) > 0.0
            return {"y": tf.cond(positive, lambda: tf.constant(1.5), lambda: tf.constant(-2.5))}

    module = Sign()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"sign": module.sign})
    directory = convert_saved_model(tmp_path / "model", ["sign"], tmp_path / "out")["sign"]
    functions = _model_json(directory)["modelTopology"]["library"]["function"]
    assert [f["signature"]["inputArg"] for f in functions] == [[], []]


def test_a_dimension_of_size_zero_is_written_as_zero(tmp_path):
    # Protobuf's JSON leaves a size of 0 out ({}), which TF.js reads as NaN:
    # it then refused every input ("must be [-1,NaN], but was [2,0]").
    import tensorflow as tf

    class Empty(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 0], tf.float32, name="x")])
        def total(self, x):
            return {"y": tf.reduce_sum(x, -1), "none": tf.zeros([0, 3])}

    module = Empty()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"total": module.total})
    directory = convert_saved_model(tmp_path / "model", ["total"], tmp_path / "out")["total"]
    model = _model_json(directory)
    signature = model["signature"]
    assert signature["inputs"]["x"]["tensorShape"]["dim"] == [{"size": "-1"}, {"size": "0"}]
    assert signature["outputs"]["none"]["tensorShape"]["dim"] == [{"size": "0"}, {"size": "3"}]
    shapes = [
        node["attr"]["shape"]["shape"]["dim"]
        for node in model["modelTopology"]["node"]
        if node["op"] == "Placeholder"
    ]
    assert shapes == [[{"size": "-1"}, {"size": "0"}]]


def test_an_op_no_backend_runs_on_strings_is_refused_unless_skip_op_check(
    words_saved_model, tmp_path
):
    # TF.js's transpose refuses string tensors on every backend: the model
    # converted and failed at its first prediction.
    with pytest.raises(ConversionError) as error:
        convert_saved_model(words_saved_model, ["transposed"], tmp_path / "out")
    message = str(error.value)
    assert message.startswith("signature 'transposed': TensorFlow.js runs no Transpose on string")
    assert "must be numeric tensor" in message and "set skip_op_check" in message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())

    options = ConversionOptions(skip_op_check=True)
    convert_saved_model(words_saved_model, ["transposed"], tmp_path / "skipped", options=options)
    assert (tmp_path / "skipped" / "transposed" / "model.json").exists()
    # What TF.js runs on strings converts as before.
    convert_saved_model(words_saved_model, ["kept", "tiled"], tmp_path / "kept")


def test_a_grouped_convolution_is_named_with_what_keras_made_of_it(tmp_path):
    import keras
    import tensorflow as tf

    class Grouped(tf.Module):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3, groups=2)
            self.conv(tf.zeros([1, 8, 8, 4]))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 4], tf.float32, name="x")])
        def grouped(self, x):
            return {"y": self.conv(x)}

    module = Grouped()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"grouped": module.grouped})
    with pytest.raises(ConversionError, match=r"StatefulPartitionedCall \(from a function only "):
        convert_saved_model(tmp_path / "model", ["grouped"], tmp_path / "out")


def test_a_loop_with_break_and_continue_converts_again_in_the_same_process(tmp_path):
    # Freezing it adds a function TensorFlow names without a counter
    # (while_cond_function) to the process's eager context: the second
    # conversion's differed and was refused.
    import tensorflow as tf

    class SkipAndExit(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def skip_and_exit(self, x):
            total, count = tf.zeros_like(x), tf.constant(0)
            for i in tf.range(10):
                if i % 2 == 1:
                    continue
                if i >= 6:
                    break
                total += tf.abs(x) * tf.cast(i + 1, tf.float32)
                count += 1
            return {"total": total, "count": count}

    module = SkipAndExit()
    signatures = {"skip_and_exit": module.skip_and_exit}
    tf.saved_model.save(module, str(tmp_path / "model"), signatures=signatures)
    for attempt, control_flow_v2 in enumerate([True, False, True]):
        options = ConversionOptions(control_flow_v2=control_flow_v2)
        convert_saved_model(
            tmp_path / "model", ["skip_and_exit"], tmp_path / str(attempt), options=options
        )


def test_a_request_uses_the_loader_it_is_given(tiny_saved_model, tmp_path):
    from tfjs_converter.saved_model import load_saved_model

    loads = []

    def counting_loader(directory, tags):
        loads.append((directory, tags))
        return load_saved_model(directory, tags)

    request = ConversionRequest(
        saved_model_dir=tiny_saved_model,
        outputs={"scale": tmp_path / "a", "mix": tmp_path / "b"},
    )
    convert(request, load=counting_loader)

    assert loads == [(tiny_saved_model, ("serve",))]
    assert (tmp_path / "a" / "model.json").is_file()
    assert (tmp_path / "b" / "model.json").is_file()


def _initializer_ops(model: dict) -> list[str]:
    return sorted(node["op"] for node in model["modelInitializer"]["node"])


def test_table_initializer_is_kept_as_the_public_converter_keeps_it(table_saved_model, tmp_path):
    ours = _model_json(
        convert_saved_model(table_saved_model, ["lookup"], tmp_path / "ours")["lookup"]
    )
    public_dir = tmp_path / "public"
    tfjs_saved_model.convert_tf_saved_model(
        str(table_saved_model), str(public_dir), signature_def="lookup", control_flow_v2=True
    )
    public = _model_json(public_dir)

    assert _initializer_ops(ours) == _initializer_ops(public)
    assert "LookupTableImportV2" in _initializer_ops(ours)
    [(ours_output, ours_info)] = ours["initializerSignature"]["outputs"].items()
    [(public_output, public_info)] = public["initializerSignature"]["outputs"].items()
    assert ours_output == public_output
    table_input = {k: v for k, v in ours["signature"]["inputs"].items() if "resourceId" in v}
    public_table_input = {
        k: v for k, v in public["signature"]["inputs"].items() if "resourceId" in v
    }
    assert list(table_input) == list(public_table_input) == ["unknown:0"]
    assert table_input["unknown:0"]["resourceId"] == ours_info["resourceId"]
    assert public_table_input["unknown:0"]["resourceId"] == public_info["resourceId"]
    # The same weights: the default value, the keys and the values (and the
    # [-1] of the lookup's reshape, which the command line does not write).
    assert sorted(
        (w["dtype"], w["shape"])
        for w in ours["weightsManifest"][0]["weights"]
        if not w["name"].endswith("/flat_shape")
    ) == sorted((w["dtype"], w["shape"]) for w in public["weightsManifest"][0]["weights"])


def test_every_signature_of_a_request_gets_the_table_initializer(table_saved_model, tmp_path):
    outputs = convert_saved_model(table_saved_model, ["lookup", "count"], tmp_path)

    for directory in outputs.values():
        model = _model_json(directory)
        assert "LookupTableImportV2" in _initializer_ops(model)
        assert [
            v["resourceId"] for v in model["signature"]["inputs"].values() if "resourceId" in v
        ] == [0]


def test_table_models_are_reproducible_across_loads(
    table_saved_model, vocabulary_saved_model, tmp_path
):
    for saved_model, signature in (
        (table_saved_model, "count"),
        (vocabulary_saved_model, "lookup"),
    ):
        first = convert_saved_model(saved_model, [signature], tmp_path / "first")[signature]
        second = convert_saved_model(saved_model, [signature], tmp_path / "second")[signature]
        assert _files(first) == _files(second), saved_model


def test_lookups_keep_the_keys_shape(table_saved_model, tmp_path):
    model = _model_json(convert_saved_model(table_saved_model, ["count"], tmp_path)["count"])

    nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
    [find] = [node for node in nodes.values() if node["op"] == "LookupTableFindV2"]
    reshaped = nodes[find["name"].removesuffix("/flat")]
    assert reshaped["op"] == "Reshape"
    assert nodes[reshaped["input"][1]]["op"] == "Shape"
    assert nodes[find["input"][1]]["op"] == "Reshape"


def test_an_op_tfjs_lacks_in_the_table_initializer_is_named(computed_table_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(computed_table_saved_model, ["lookup"], tmp_path)
    assert (
        "TensorFlow.js has no kernel for op Lgamma in the initializer that fills the model's "
        "lookup tables: change the model to avoid it, or set skip_op_check"
    ) in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_table_initializer_that_cannot_be_frozen_is_refused(dataset_table_saved_model, tmp_path):
    with pytest.raises(
        ConversionError,
        match=r"the initializer that fills the model's lookup tables cannot be made a graph TF.js runs \(.*variant.*\): fill tables from constants",
    ):
        convert_saved_model(dataset_table_saved_model, ["lookup"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_table_filled_only_when_the_model_runs_is_refused(mutable_table_saved_model, tmp_path):
    with pytest.raises(
        ConversionError,
        match=r"reads lookup table input unknown, but no initializer fills it, so TF.js would find it empty: a table filled by inserts",
    ):
        convert_saved_model(mutable_table_saved_model, ["lookup"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_table_read_inside_control_flow_is_refused_unless_lowered(
    table_in_branch_saved_model, tmp_path
):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(table_in_branch_saved_model, ["ids"], tmp_path / "kept")
    assert "reads a lookup table (LookupTableFindV2) inside control flow" in str(error.value)
    assert "control_flow_v2=false" in str(error.value)
    assert not (tmp_path / "kept").exists() or list((tmp_path / "kept").iterdir()) == []

    options = ConversionOptions(control_flow_v2=False)
    lowered = convert_saved_model(
        table_in_branch_saved_model, ["ids"], tmp_path / "lowered", options=options
    )["ids"]
    model = _model_json(lowered)
    assert not model["modelTopology"].get("library")
    assert "LookupTableFindV2" in {node["op"] for node in model["modelTopology"]["node"]}


def test_a_signature_that_changes_a_variable_is_refused_with_the_fix(counter_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(counter_saved_model, ["bump"], tmp_path)
    assert "the function changes a variable (AssignAddVariableOp)" in str(error.value)
    assert "return the new value as an output" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_an_int64_weight_beyond_int32_is_refused_not_wrapped(wide_integer_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert_saved_model(wide_integer_saved_model, ["shift"], tmp_path)
    assert f"is int64 and holds {2**40 + 3}, outside int32's range" in str(error.value)
    assert "would compute with 3 instead" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_int64_weights_written_as_int32_are_told_on_stderr_not_stdout(
    int64_saved_model, tmp_path, capsys
):
    directory = convert_saved_model(int64_saved_model, ["shift"], tmp_path)["shift"]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "with shape (2,) and dtype int64 was auto converted to the type int32" in captured.err
    (weight,) = _model_json(directory)["weightsManifest"][0]["weights"]
    assert weight["dtype"] == "int32"


def test_a_table_function_without_its_module_is_refused(table_saved_model, tmp_path):
    from tfjs_converter.pipeline import convert_concrete_function
    from tfjs_converter.saved_model import load_saved_model

    model = load_saved_model(table_saved_model)
    with pytest.raises(
        ConversionError,
        match=r"reads lookup table input unknown, but no initializer fills it, .*pass it",
    ):
        convert_concrete_function(model.concrete_function("lookup"), tmp_path)


def test_each_signature_can_have_its_own_options_in_one_load(tiny_saved_model, tmp_path):
    from tfjs_converter.saved_model import load_saved_model

    loads = []

    def load(directory, tags):
        loads.append(directory)
        return load_saved_model(directory, tags)

    outputs = {s: tmp_path / s for s in ("scale", "mix")}
    convert(
        ConversionRequest(
            tiny_saved_model,
            outputs,
            options=ConversionOptions(quantization="float16"),
            signature_options={
                "mix": ConversionOptions(quantization="uint8", weight_shard_size_bytes=8)
            },
        ),
        load=load,
    )

    def quantized(directory):
        manifest = _model_json(directory)["weightsManifest"]
        dtypes = {
            w["name"]: w.get("quantization", {}).get("dtype", w["dtype"])
            for group in manifest
            for w in group["weights"]
        }
        return dtypes, sum(len(group["paths"]) for group in manifest)

    assert len(loads) == 1
    assert quantized(outputs["scale"]) == (
        {
            "StatefulPartitionedCall/MatMul/ReadVariableOp": "float16",
            "StatefulPartitionedCall/add/ReadVariableOp": "float16",
        },
        1,
    )
    # 10 uint8 table entries and reduce_sum's int32 axis: 14 bytes, two 8-byte shards.
    assert quantized(outputs["mix"]) == (
        {
            "StatefulPartitionedCall/MatMul/ReadVariableOp": "uint8",
            "StatefulPartitionedCall/Sum/reduction_indices": "int32",
        },
        2,
    )


def test_a_signatures_own_quantization_patterns_must_match_its_own_weights(
    tiny_saved_model, tmp_path
):
    request = ConversionRequest(
        tiny_saved_model,
        {s: tmp_path / s for s in ("scale", "mix")},
        signature_options={
            "mix": ConversionOptions(quantization="uint8", quantization_patterns=("*/add/*",))
        },
    )
    # The pattern matches scale's bias, but mix has no bias.
    with pytest.raises(ConversionError) as error:
        convert(request)
    assert str(error.value).endswith(
        "pattern '*/add/*' matches no weight. Patterns match the weight names of model.json's "
        "weightsManifest; the 2 weights are:\n"
        "  StatefulPartitionedCall/MatMul/ReadVariableOp\n"
        "  StatefulPartitionedCall/Sum/reduction_indices"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_long_weight_list_is_cut_after_forty_names():
    from tfjs_converter.pipeline import check_quantization_patterns

    options = ConversionOptions(quantization="uint8", quantization_patterns=("a*", "b*"))
    names = [f"w{i:03}" for i in range(150)]
    with pytest.raises(ConversionError) as error:
        check_quantization_patterns(options, names)
    lines = str(error.value).splitlines()
    assert lines[0].startswith("quantization patterns 'a*', 'b*' match no weight.")
    assert lines[0].endswith("the 150 weights are:")
    assert lines[1:] == [f"  w{i:03}" for i in range(40)] + ["  ... and 110 more"]


def test_one_loaded_table_model_converts_with_different_options(table_saved_model, tmp_path):
    from tfjs_converter.saved_model import load_saved_model

    model = load_saved_model(table_saved_model)  # as a worker keeps it between requests
    for name, options in (
        ("plain", ConversionOptions()),
        ("checked", ConversionOptions(strip_debug_ops=True)),
    ):
        request = ConversionRequest(table_saved_model, {"lookup": tmp_path / name}, options=options)
        convert(request, load=lambda directory, tags: model)
        assert "LookupTableImportV2" in _initializer_ops(_model_json(tmp_path / name))
