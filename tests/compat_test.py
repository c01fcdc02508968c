"""CI leg: an outside workspace (a copy of e2e/) with a user lock on another TensorFlow version."""

import json
import shutil

from conftest import WORKSPACE, Bazel, reported_passed

# One of the compatibility table's locks (README: Compatibility).
TENSORFLOW_VERSION = "2.20.0"
USER_LOCK = WORKSPACE / "compat" / "tf2.20" / "requirements_lock.txt"


def test_e2e_converts_and_tests_with_a_user_lock_on_another_tensorflow(tmp_path):
    user = tmp_path / "e2e"
    # Not e2e/'s convenience symlinks: the Bazel 7 legs' point into the chroot.
    shutil.copytree(WORKSPACE / "e2e", user, ignore=shutil.ignore_patterns("bazel-*"))
    shutil.copy(USER_LOCK, user / "tensorflow_lock.txt")
    build = (user / "BUILD.bazel").read_text()
    (user / "BUILD.bazel").write_text(build + '\nexports_files(["tensorflow_lock.txt"])\n')
    workspace = (user / "WORKSPACE").read_text()
    for old, new in (
        ('path = "..",', f'path = "{WORKSPACE}",'),
        (
            "rules_tfjs_dependencies()",
            'rules_tfjs_dependencies(requirements_lock = "//:tensorflow_lock.txt")',
        ),
    ):
        assert old in workspace, old
        workspace = workspace.replace(old, new)
    (user / "WORKSPACE").write_text(workspace)
    bazelrc = (user / ".bazelrc").read_text()
    (user / ".bazelrc").write_text(bazelrc.replace("%workspace%/..", str(WORKSPACE)))

    e2e = Bazel(user, output_base=tmp_path / "output_base")
    try:
        result = e2e("test", "//...")
        assert reported_passed(result, "//:scorer_tfjs_test")
        model = json.loads((e2e.bin / "scorer_tfjs" / "serving_default" / "model.json").read_text())
        # The SavedModel was exported, and converted, by the lock's TensorFlow.
        assert model["generatedBy"] == TENSORFLOW_VERSION
        assert sorted(model["signature"]["outputs"]) == ["score"]
    finally:
        e2e.shutdown()
