"""The saved_model rule hands its script the files in `data` and the arguments in `args`."""

EXPORT = """
import sys
from pathlib import Path

import tensorflow as tf

from helper import read_scale

output, scale_file, label = sys.argv[1:]
assert label == "plain", label
scale = read_scale(Path(scale_file))


class Scale(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def scale(self, x):
        return {"y": x * scale}


module = Scale()
tf.saved_model.save(module, output, signatures={"scale": module.scale})
"""


def test_args_expand_the_locations_of_data_files(bazel, scratch_package):
    scratch_package.write("export.py", EXPORT)
    scratch_package.write(
        "helper.py", "def read_scale(path):\n    return float(path.read_text())\n"
    )
    scratch_package.write("scale.txt", "2.5\n")
    scratch_package.write(
        "BUILD.bazel",
        """
load("//rules_tfjs:defs.bzl", "saved_model")

saved_model(
    name = "scaled",
    src = "export.py",
    args = ["$(location scale.txt)", "plain"],
    data = ["helper.py", "scale.txt"],
)
""",
    )
    result = bazel("build", f"{scratch_package.label}:scaled", check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (bazel.bin / scratch_package.label.lstrip("/") / "scaled" / "saved_model.pb").is_file()
