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
