"""Bad input fails the build with a message that names the problem and the fix, and writes nothing."""

import glob
import os
import shutil
import subprocess
import textwrap

import pytest
from conftest import WORKSPACE, Bazel

CHECKED_IN = WORKSPACE / "examples" / "checked_in" / "saved_model"
TFJS_MODEL = """
load("//rules_tfjs:defs.bzl", "saved_model", "tfjs_model")

filegroup(
    name = "files",
    srcs = glob(["model/**"]),
)

tfjs_model(
    name = "tfjs",
    saved_model = "{saved_model}",
    {attributes}
)

saved_model(
    name = "exported",
    src = "export.py",
)
"""


def _build_fails(
    bazel, package, saved_model=":files", attributes='signatures = ["serving_default"],'
):
    if not (package.directory / "export.py").exists():
        package.write("export.py", "")  # the unused saved_model target's script
    package.write("BUILD.bazel", TFJS_MODEL.format(saved_model=saved_model, attributes=attributes))
    result = bazel("build", f"{package.label}:tfjs", check=False)
    assert result.returncode != 0, "the build should have failed"
    outputs = bazel.bin / package.label.removeprefix("//") / "tfjs"
    assert not [p for p in outputs.rglob("*") if p.is_file() and p.suffix != ".params"]
    return result.stderr


def _copy_checked_in_model(package, skip=()):
    for source in CHECKED_IN.rglob("*"):
        relative = source.relative_to(CHECKED_IN).as_posix()
        if source.is_file() and not relative.startswith(skip):
            package.write(f"model/{relative}", source.read_bytes())


def test_truncated_saved_model_pb(bazel, scratch_package):
    _copy_checked_in_model(scratch_package)
    graph = scratch_package.directory / "model" / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[:200])
    stderr = _build_fails(bazel, scratch_package)
    assert "saved_model.pb cannot be parsed" in stderr
    assert "truncated or not a SavedModel; export the model again" in stderr


def test_missing_variables_directory(bazel, scratch_package):
    _copy_checked_in_model(scratch_package, skip=("variables/",))
    stderr = _build_fails(bazel, scratch_package)
    assert "has variables but no variables/variables.index: keep the variables/ directory" in stderr


def test_a_tag_set_the_model_lacks_lists_its_tag_sets(bazel, scratch_package):
    stderr = _build_fails(
        bazel,
        scratch_package,
        saved_model="//examples/checked_in:colour_namer",
        attributes='signatures = ["serving_default"], saved_model_tags = ["serve", "gpu"],',
    )
    assert "has no MetaGraph tagged serve,gpu; its tag sets are: serve" in stderr


def test_an_op_tensorflowjs_cannot_run_is_named_with_skip_op_check(bazel, scratch_package):
    scratch_package.write(
        "export.py",
        textwrap.dedent(
            """
            import sys
            import tensorflow as tf

            class Gamma(tf.Module):
                @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
                def f(self, x):
                    return {"y": tf.math.lgamma(x)}

            module = Gamma()
            tf.saved_model.save(module, sys.argv[1], signatures={"serving_default": module.f})
            """
        ),
    )
    stderr = _build_fails(
        bazel,
        scratch_package,
        saved_model=":exported",
    )
    assert "TensorFlow.js has no kernel for op Lgamma" in stderr
    assert "or set skip_op_check to convert anyway" in stderr


def test_a_quantization_pattern_that_matches_no_weight_lists_the_weights(bazel, scratch_package):
    stderr = _build_fails(
        bazel,
        scratch_package,
        saved_model="//examples/checked_in:colour_namer",
        attributes='signatures = ["serving_default"], quantization = "uint8", quantization_patterns = ["dense/*"],',
    )
    assert (
        "quantization pattern 'dense/*' matches no weight. Patterns match the weight names of "
        "model.json's weightsManifest; the " in stderr
    )
    assert "weights are:\n  StatefulPartitionedCall/" in stderr


def test_a_failing_export_script_shows_its_traceback(bazel, scratch_package):
    scratch_package.write(
        "export.py", "print('loading weights')\nraise FileNotFoundError('weights.h5')\n"
    )
    stderr = _build_fails(
        bazel,
        scratch_package,
        saved_model=":exported",
    )
    assert "Exporting SavedModel" in stderr
    assert "loading weights" in stderr
    assert "FileNotFoundError: weights.h5" in stderr


def _python_of_another_version() -> str:
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.*[0-9]")))
    candidates += [p for p in (shutil.which("python3.13"), "/usr/bin/python3") if p]
    for candidate in candidates:
        version = subprocess.run(
            [candidate, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if version and version != "3.11":
            return candidate
    pytest.fail("this machine has no Python but 3.11 to try a mismatched interpreter with")


def test_an_interpreter_that_does_not_fit_the_lock_file_is_named_with_the_fix(tmp_path):
    wrong = _python_of_another_version()
    bazel = Bazel(
        WORKSPACE,
        tmp_path / "output_base",
        {"RULES_TFJS_PYTHON": wrong, "RULES_TFJS_CACHE": "none"},
    )
    try:
        result = bazel("build", "@rules_tfjs_python//:python", check=False)
    finally:
        bazel("clean", "--expunge", check=False)
    assert result.returncode != 0
    assert "is locked for Python 3.11, and no Python 3.11 interpreter was found" in result.stderr
    assert f"Tried: {wrong} (Python 3." in result.stderr
    assert "install Python 3.11 (for example `pyenv install 3.11`)" in result.stderr


BAD_LOCK = """\
#
# This file is autogenerated by pip-compile with Python 3.11
#
six==1.17.0 \\
    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
"""


def test_a_lock_file_whose_hash_does_not_match_fails_with_the_fix(tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "WORKSPACE").write_text(
        f'local_repository(name = "rules_tfjs", path = "{WORKSPACE}")\n'
        'load("@rules_tfjs//rules_tfjs:repositories.bzl", "rules_tfjs_dependencies")\n'
        'rules_tfjs_dependencies(requirements_lock = "//:bad_lock.txt")\n'
    )
    (workspace / "BUILD.bazel").write_text('exports_files(["bad_lock.txt"])\n')
    (workspace / "bad_lock.txt").write_text(BAD_LOCK)
    (workspace / ".bazelversion").write_text("4\n")
    (workspace / ".bazelrc").write_text(
        f"try-import {WORKSPACE}/.bazelrc.offline\nbuild --nosandbox_debug\n"
    )
    bazel = Bazel(workspace, tmp_path / "output_base", {"RULES_TFJS_CACHE": "none"})
    try:
        result = bazel("build", "@rules_tfjs_python//:python", check=False)
    finally:
        bazel("clean", "--expunge", check=False)
    assert result.returncode != 0
    assert "Hash mismatch for `six==1.17.0`" in result.stderr
    assert "regenerate it with dev/update_lock.sh" in result.stderr


def test_an_unknown_signature_fails_the_build_listing_the_models_signatures(bazel, scratch_package):
    stderr = _build_fails(
        bazel, scratch_package, "//models:wake", 'signatures = ["encode", "wakeword"],'
    )
    assert "has no signature 'wakeword'; its signatures are: detect, encode, filter" in stderr
