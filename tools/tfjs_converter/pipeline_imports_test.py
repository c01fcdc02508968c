"""pipeline.py imports tensorflowjs's SavedModel conversion without jax, TF-DF or TF-Hub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tfjs_converter import pipeline

TOOLS = Path(__file__).resolve().parents[1]
# Packages tensorflowjs's own imports would load; graph-model conversion needs none.
HEAVY_PACKAGES = ("jax", "jaxlib", "flax", "tf_keras", *pipeline.UNUSED_IMPORTS)


def _python(script: str, **environment: str) -> subprocess.CompletedProcess:
    """A fresh interpreter running script beside the package, TensorFlow's log quiet."""
    return subprocess.run(
        [sys.executable, "-s", "-B", "-c", script],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", **environment},
    )


def _modules_after(statement: str) -> set[str]:
    """Modules loaded by a fresh interpreter running statement."""
    script = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = _python(script, TFDF_DISABLE_WELCOME_MESSAGE="1")
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_installed_tensorflowjs_is_the_release_the_import_was_written_for():
    from tensorflowjs import version

    assert version.version == pipeline.TENSORFLOWJS_VERSION


def test_importing_the_pipeline_loads_none_of_the_unused_packages():
    # In the default environment, where they are not installed.
    loaded = {name.split(".")[0] for name in _modules_after("import tfjs_converter.pipeline")}
    assert "tensorflowjs" in loaded and "tensorflow" in loaded
    assert not loaded & set(HEAVY_PACKAGES), sorted(loaded & set(HEAVY_PACKAGES))


def test_importing_the_pipeline_runs_no_tensorflowjs_package_init():
    # Also where jax and TF-DF are installed (a user's full lock file): the
    # package __init__s would import every converter.
    loaded = _modules_after("import tfjs_converter.pipeline")
    assert "tensorflowjs.converters.tf_saved_model_conversion_v2" in loaded
    for converter in ("jax_conversion", "converter", "keras_h5_conversion"):
        assert f"tensorflowjs.converters.{converter}" not in loaded, converter


def test_the_pipeline_uses_tensorflowjs_own_conversion_module():
    assert pipeline.tfjs_saved_model.__name__ == (
        "tensorflowjs.converters.tf_saved_model_conversion_v2"
    )
    assert pipeline.tfjs_saved_model.__file__.startswith(
        str(Path(sys.modules["tensorflowjs"].__path__[0]))
    )
    import tensorflowjs

    assert tensorflowjs.__version__ == pipeline.TENSORFLOWJS_VERSION


def test_stand_ins_do_not_outlive_the_import():
    # A stand-in left in sys.modules would make `import tensorflow_hub` succeed
    # with an empty module; only a really installed package may be there.
    import importlib.util

    for name in pipeline.UNUSED_IMPORTS:
        if name in sys.modules:
            assert importlib.util.find_spec(name) is not None, name


def test_a_tensorflow_imported_first_with_onednn_on_is_refused_with_the_fix(
    activations_saved_model, tmp_path
):
    script = (
        "import tensorflow\n"
        "import tfjs_converter\n"
        f"tfjs_converter.convert_saved_model({str(activations_saved_model)!r}, ['squash'], "
        f"{str(tmp_path / 'out')!r})\n"
    )
    result = _python(script, TF_ENABLE_ONEDNN_OPTS="1")
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "tfjs_converter.errors.ConversionError: signature 'squash': "
        "TensorFlow runs with its oneDNN rewrites on"
    ), last_line
    assert "import tfjs_converter before TensorFlow, or set TF_ENABLE_ONEDNN_OPTS=0" in last_line
    assert not (tmp_path / "out" / "squash").exists()
