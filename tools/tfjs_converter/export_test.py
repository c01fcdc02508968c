import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfjs_converter.errors import ConversionError
from tfjs_converter.export import export_saved_model

EXPORT_SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    from helper import SCALE

    class Model(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.ones([2]) * SCALE)

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="x")])
        def f(self, x):
            return {"y": x * self.w * float(sys.argv[2])}

    model = Model()
    tf.saved_model.save(model, sys.argv[1], signatures={"f": model.f})
    """
)


def _write_script(directory, source=EXPORT_SCRIPT):
    directory.mkdir()
    (directory / "helper.py").write_text("SCALE = 3.0\n")
    script = directory / "export.py"
    script.write_text(source)
    return script


def test_export_runs_the_script_with_the_output_dir_and_arguments(tmp_path):
    script = _write_script(tmp_path / "src")
    export_saved_model(script, tmp_path / "out", ["2"])
    assert (tmp_path / "out" / "saved_model.pb").is_file()
    assert (tmp_path / "out" / "variables" / "variables.index").is_file()


def test_exporting_twice_gives_the_same_bytes(tmp_path):
    # In separate processes, as Bazel runs them: within one process TensorFlow
    # numbers its functions on from the first export.
    script = _write_script(tmp_path / "src")
    for output in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-s",
                "-B",
                str(Path(__file__).with_name("__main__.py")),
                "export",
                "--script",
                str(script),
                "--output_dir",
                str(tmp_path / output),
                "--script_arg",
                "2",
            ],
            check=True,
        )
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b
    assert any(p.name == "fingerprint.pb" for p in files_a)
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (
            tmp_path / "b" / relative
        ).read_bytes(), relative


def test_a_script_that_saves_nothing_is_told_where_to_save(tmp_path):
    script = _write_script(tmp_path / "src", "print('forgot to save')\n")
    with pytest.raises(ConversionError, match=r"wrote no saved_model.pb .*sys.argv\[1\]"):
        export_saved_model(script, tmp_path / "out")


def test_a_script_that_exits_with_an_error_fails(tmp_path):
    script = _write_script(tmp_path / "src", "import sys\nsys.exit(3)\n")
    with pytest.raises(ConversionError, match="exited with status 3"):
        export_saved_model(script, tmp_path / "out")
