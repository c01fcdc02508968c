import shutil

import pytest

from tfjs_converter.errors import ConversionError
from tfjs_converter.saved_model import load_saved_model, read_meta_graph


def _copy(saved_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(saved_model, copy)
    return copy


def test_loads_signatures_and_their_signature_defs(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    assert model.signature_keys == ["mix", "scale"]
    assert sorted(model.signature_def("mix").inputs) == ["offset", "weights"]
    assert model.tensorflow_version.startswith("2.19")


def test_input_specs_are_keyed_by_the_signature_def_keys(odd_keys_saved_model):
    model = load_saved_model(odd_keys_saved_model)
    specs = model.input_specs("odd")
    assert sorted(specs) == sorted(model.signature_def("odd").inputs)
    assert (specs["a-b"].dtype.name, specs["a-b"].shape.as_list()) == ("int32", [None])
    assert (specs["a_a"].dtype.name, specs["a_a"].shape.as_list()) == ("float32", [None, 3])


def test_directory_without_saved_model_pb(tmp_path):
    with pytest.raises(
        ConversionError, match=r"is not a SavedModel directory: it has no saved_model.pb"
    ):
        load_saved_model(tmp_path)


def test_truncated_saved_model_pb(tiny_saved_model, tmp_path):
    copy = _copy(tiny_saved_model, tmp_path)
    graph = copy / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[:100])
    with pytest.raises(ConversionError, match=r"cannot be parsed .*truncated or not a SavedModel"):
        load_saved_model(copy)


def test_missing_variables_directory(tiny_saved_model, tmp_path):
    copy = _copy(tiny_saved_model, tmp_path)
    shutil.rmtree(copy / "variables")
    with pytest.raises(ConversionError, match=r"has variables but no variables/variables.index"):
        load_saved_model(copy)


def test_unknown_tag_set_lists_the_tag_sets(tiny_saved_model):
    with pytest.raises(
        ConversionError, match=r"has no MetaGraph tagged train; its tag sets are: serve"
    ):
        read_meta_graph(tiny_saved_model, ["train"])


def test_unknown_signature_lists_the_signatures(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    with pytest.raises(
        ConversionError, match=r"has no signature 'serving_default'; its signatures are: mix, scale"
    ):
        model.concrete_function("serving_default")


def _rename_an_op(saved_model, tmp_path, new_op: str):
    """A copy of saved_model whose first MatMul is an op of another name."""
    from tensorflow.core.protobuf import saved_model_pb2

    copy = _copy(saved_model, tmp_path)
    graph = copy / "saved_model.pb"
    proto = saved_model_pb2.SavedModel.FromString(graph.read_bytes())
    nodes = [
        node
        for function in proto.meta_graphs[0].graph_def.library.function
        for node in function.node_def
        if node.op == "MatMul"
    ]
    nodes[0].op = new_op
    graph.write_bytes(proto.SerializeToString())
    return copy


def test_a_decision_forests_op_says_what_to_add_to_a_lock_file(tiny_saved_model, tmp_path):
    copy = _rename_an_op(tiny_saved_model, tmp_path, "SimpleMLInferenceOpWithHandle")
    with pytest.raises(ConversionError) as error:
        load_saved_model(copy)
    message = str(error.value)
    assert "uses op SimpleMLInferenceOpWithHandle that this environment's TensorFlow" in message
    assert "TensorFlow Decision Forests" in message
    assert "requirements_lock" in message
    assert "tensorflow-decision-forests==1.12.0" in message


def test_an_op_tensorflow_lacks_is_named(tiny_saved_model, tmp_path):
    copy = _rename_an_op(tiny_saved_model, tmp_path, "NoSuchOpAnywhere")
    with pytest.raises(ConversionError, match=r"uses op NoSuchOpAnywhere that this environment"):
        load_saved_model(copy)
