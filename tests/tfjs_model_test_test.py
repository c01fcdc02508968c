"""tfjs_model_test: TF.js in Node and headless Chromium against TensorFlow, and that it can fail."""

import json
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from conftest import WORKSPACE, read_test_log


def read_test_cases(bazel, label: str) -> dict[tuple[str, str], str | None]:
    """(environment, case) -> failure message (None: passed), from the test's own JUnit XML."""
    package, name = label.removeprefix("//").split(":")
    tree = ElementTree.parse(bazel.workspace / "bazel-testlogs" / package / name / "test.xml")
    cases = {}
    for case in tree.iter("testcase"):
        failure = case.find("failure")
        cases[case.get("classname"), case.get("name")] = (
            None if failure is None else failure.get("message")
        )
    return cases


PERTURBED_BZL = '''
load("//rules_tfjs:defs.bzl", "TfjsModelInfo")

def _perturbed_impl(ctx):
    model = ctx.attr.model[TfjsModelInfo]
    original = model.signatures["encode"]
    copy = ctx.actions.declare_directory(ctx.label.name + "/encode")
    # Adds 0.5 to the first float32 weight of the first shard.
    ctx.actions.run_shell(
        inputs = [original],
        outputs = [copy],
        command = """cp -rL {original}/. {copy} && chmod -R u+w {copy} && python3 -c '
import struct, sys
path = sys.argv[1] + "/group1-shard1of1.bin"
data = bytearray(open(path, "rb").read())
data[0:4] = struct.pack("<f", struct.unpack("<f", bytes(data[0:4]))[0] + 0.5)
open(path, "wb").write(data)
' {copy}
""".format(original = original.path, copy = copy.path),
        use_default_shell_env = True,
    )
    return [
        DefaultInfo(files = depset([copy])),
        TfjsModelInfo(
            signatures = {"encode": copy},
            saved_model = model.saved_model,
            saved_model_tags = model.saved_model_tags,
            options = model.options,
        ),
    ]

perturbed = rule(_perturbed_impl, attrs = {"model": attr.label(providers = [TfjsModelInfo])})
'''

PERTURBED_BUILD = """
load("//rules_tfjs:defs.bzl", "tfjs_model_test")
load(":perturbed.bzl", "perturbed")

perturbed(
    name = "perturbed",
    model = "//models:wake_tfjs",
)

tfjs_model_test(
    name = "perturbed_test",
    model = ":perturbed",
)
"""


def test_every_tfjs_model_test_in_the_workspace_passes(bazel):
    bazel("test", "//...")
    wake = read_test_log(bazel, "//models:wake_tfjs_test")
    for environment in ("node cpu", "node wasm", "chromium cpu", "chromium wasm"):
        for row in (
            "filter         features",
            "encode         state",
            "encode×8       state",
            "detect         probability",
        ):
            assert f"ok   {environment:15} {row}" in wake, (environment, row)
    assert "24 passed, 0 failed" in wake
    cases = read_test_cases(bazel, "//models:wake_tfjs_test")
    assert len(cases) == 24 and set(cases.values()) == {None}
    assert ("chromium wasm", "encode×8 state") in cases


def test_a_browser_test_without_chromium_fails_and_says_why(bazel):
    result = bazel(
        "test",
        "--test_env=CHROMIUM_BIN=/nonexistent/chromium",
        "//examples/checked_in:colour_namer_tfjs_test",
        check=False,
    )
    assert result.returncode == 3, result.stderr[-3000:]
    log = read_test_log(bazel, "//examples/checked_in:colour_namer_tfjs_test")
    assert (
        "Chromium not found at /nonexistent/chromium (CHROMIUM_BIN): point CHROMIUM_BIN at a "
        "Chromium binary, or leave it unset to use the pinned @sparticuz/chromium" in log
    )


# Debian's Chromium: the wrapper script and the binary it runs.
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium")


def test_browser_tests_pass_with_no_system_chromium_visible(bazel):
    # Bazel refuses to block a path that does not exist: a machine without
    # Debian's Chromium has none to hide.
    hidden = [f"--sandbox_block_path={path}" for path in SYSTEM_CHROMIUM if Path(path).exists()]
    # The control: with the system Chromium chosen, the test cannot see it.
    control = bazel(
        "test",
        *hidden,
        "--nocache_test_results",
        "--test_env=CHROMIUM_BIN=/usr/bin/chromium",
        "//models:wake_tfjs_test",
        check=False,
    )
    assert control.returncode == 3, control.stderr[-3000:]
    control_log = read_test_log(bazel, "//models:wake_tfjs_test")
    assert (
        "Chromium at /usr/bin/chromium (CHROMIUM_BIN) did not start" in control_log
        or "Chromium not found at /usr/bin/chromium (CHROMIUM_BIN)" in control_log
    ), control_log[-3000:]

    bazel("test", *hidden, "--nocache_test_results", "//models/...")
    log = read_test_log(bazel, "//models:wake_tfjs_test")
    assert "chromium: pinned @sparticuz/chromium 153.0.0, 153.0." in log
    assert "ok   chromium wasm   encode×8       state" in log
    assert "24 passed, 0 failed" in log


def test_a_perturbed_weight_is_reported_not_swallowed(bazel, scratch_package):
    scratch_package.write("perturbed.bzl", PERTURBED_BZL)
    scratch_package.write("BUILD.bazel", PERTURBED_BUILD)
    result = bazel("test", f"{scratch_package.label}:perturbed_test", check=False)
    assert result.returncode == 3, result.stderr[-3000:]  # Bazel's "build OK, tests failed"
    log = read_test_log(bazel, f"{scratch_package.label}:perturbed_test")
    assert "FAIL node cpu        encode         encoding       max abs 2.2e-1" in log
    assert "FAIL node wasm       encode         encoding       max abs 2.2e-1" in log
    assert "worst at [0,0]: TF.js 0.716" in log and "allowed 0.0001 + 0.001·|TensorFlow|" in log
    assert "2 passed, 2 failed" in log
    cases = read_test_cases(bazel, f"{scratch_package.label}:perturbed_test")
    assert cases["node cpu", "encode encoding"].startswith("FAIL node cpu")
    assert "max abs 2.2e-1" in cases["node wasm", "encode encoding"]
    assert len(cases) == 4


TEST_RULE = """
load("//rules_tfjs:defs.bzl", "tfjs_model_test")

tfjs_model_test(
    name = "model_test",
    model = "//models:wake_tfjs",
    {attributes}
)
"""


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            'signatures = ["wake"],',
            "signatures has 'wake', which //models:wake_tfjs does not convert; it has filter, encode, detect",
        ),
        (
            'backends = ["webgl"],',
            "backends has 'webgl', which runs only in the browser: set browser = True",
        ),
        (
            'backends = ["webgpu"], browser = True,',
            "backends has 'webgpu': TF.js backends are cpu, wasm, webgl",
        ),
        ('atol = "small",', 'atol must be a non-negative number such as "1e-4", not "small"'),
        (
            'feedback = {"encode": "state"},',
            "feedback['encode'] = \"state\": write INPUT=OUTPUT pairs",
        ),
        (
            'signatures = ["filter"], feedback = {"encode": "state=state"},',
            "feedback names signature 'encode', which this test does not run (filter)",
        ),
    ],
)
def test_bad_attribute_fails_analysis(bazel, scratch_package, attributes, message):
    scratch_package.write("BUILD.bazel", TEST_RULE.format(attributes=attributes))
    result = bazel("build", "--nobuild", f"{scratch_package.label}:model_test", check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_feedback_naming_an_unknown_output_fails_the_build_listing_the_keys(bazel, scratch_package):
    scratch_package.write(
        "BUILD.bazel", TEST_RULE.format(attributes='feedback = {"encode": "state=hidden"},')
    )
    result = bazel("build", f"{scratch_package.label}:model_test", check=False)
    assert result.returncode != 0
    assert (
        "feedback for 'encode' must map its inputs (features, state) to its outputs (encoding, state)"
        in result.stderr
    )


def test_the_runner_unit_tests_pass():
    result = subprocess.run(
        ["node", "--test", "compare_test.js", "junit_test.js"],
        cwd=WORKSPACE / "tools" / "tfjs_runner",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# pass 16" in result.stdout


FLAGS_EXPORT = """
import sys

import tensorflow as tf


class Flags(tf.Module):
    def __init__(self):
        super().__init__()
        self.base = tf.Variable([1.0, 2.0, 3.0])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="x")])
    def flags(self, x):
        return {"positive": x > 0, "doubled": x * 2}

    @tf.function(input_signature=[])
    def constant(self):
        return {"tripled": self.base * 3.0}


module = Flags()
tf.saved_model.save(
    module, sys.argv[1], signatures={"flags": module.flags, "constant": module.constant}
)
"""


def _model_test_log(
    bazel,
    scratch_package,
    name: str,
    export: str,
    signatures: list[str],
    test_attrs: str = "",
    model_attrs: str = "",
    passes: bool = True,
) -> str:
    """Exports a SavedModel with export, converts signatures and runs tfjs_model_test: its log.

    The test must pass, or with passes=False fail (not its build).
    """
    scratch_package.write(f"export_{name}.py", export)
    scratch_package.write(
        "BUILD.bazel",
        f"""
load("//rules_tfjs:defs.bzl", "saved_model", "tfjs_model", "tfjs_model_test")

saved_model(
    name = "{name}",
    src = "export_{name}.py",
)

tfjs_model(
    name = "{name}_tfjs",
    saved_model = ":{name}",
    signatures = {json.dumps(signatures)},
    {model_attrs}
)

tfjs_model_test(
    name = "{name}_tfjs_test",
    model = ":{name}_tfjs",
    {test_attrs}
)
""",
    )
    label = f"{scratch_package.label}:{name}_tfjs_test"
    result = bazel("test", label, check=False)
    if result.returncode == 1:  # the build failed: the first error says why
        output = result.stdout + result.stderr
        raise AssertionError(output[output.find("ERROR:") :][:3000])
    log = read_test_log(bazel, label)
    assert result.returncode == (0 if passes else 3), log[-3000:]
    return log


def _assert_node_rows_pass(log: str, rows: list[tuple[str, str]]) -> None:
    """Each (signature, output) row passed on Node cpu and wasm, and no other row ran."""
    for environment in ("node cpu", "node wasm"):
        for signature, output in rows:
            assert f"ok   {environment:15} {signature:14} {output:14}" in log, (environment, output)
    assert f"{2 * len(rows)} passed, 0 failed" in log


def test_bool_outputs_and_a_signature_without_inputs_pass(bazel, scratch_package):
    # TF.js gives bools as 0 and 1, the reference as true and false; a
    # signature without inputs has an empty "inputs" map.
    log = _model_test_log(bazel, scratch_package, "flags", FLAGS_EXPORT, ["flags", "constant"])
    _assert_node_rows_pass(
        log, [("flags", "positive"), ("flags", "doubled"), ("constant", "tripled")]
    )


DENSE_EXPORT = """
import sys

import tensorflow as tf


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([3, 4], seed=[1, 2]))
        self.bias = tf.Variable(tf.random.stateless_normal([4], seed=[3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def squash(self, x):
        dense = tf.nn.bias_add(tf.matmul(x, self.kernel), self.bias)
        return {
            "tanh": tf.tanh(dense),
            # The exact GELU computes with Erfc, for which TF.js has no kernel.
            "gelu": tf.nn.gelu(dense, approximate=False),
            # wasm's float OneHot wrote the values' int32 bits (1.4e-45 for 1).
            "one_hot": tf.one_hot(tf.argmax(dense, -1), 4, on_value=5.0, off_value=-1.0),
        }

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def looped(self, x):
        # The same ops in a loop's body: a function, with control_flow_v2 on.
        dense = tf.nn.bias_add(tf.matmul(x, self.kernel), self.bias)
        hot = tf.zeros_like(dense)
        for _ in tf.range(2):
            dense = tf.nn.gelu(dense, approximate=False) - 0.25
            hot += tf.one_hot(tf.argmax(dense, -1), 4, on_value=5.0, off_value=-1.0)
        return {"gelu": dense, "one_hot": hot}


module = Dense()
tf.saved_model.save(
    module, sys.argv[1], signatures={"squash": module.squash, "looped": module.looped}
)
"""


@pytest.mark.parametrize("control_flow_v2", [True, False])
def test_dense_tanh_gelu_and_one_hot_outputs_run_in_tfjs_in_a_loop_too(
    bazel, scratch_package, control_flow_v2
):
    # With TensorFlow's oneDNN rewrites on (the default on this machine's CPU),
    # tensorflowjs's remap pass fuses the Tanh into a _FusedMatMul that every
    # TF.js backend refuses: "Activation tanh has not been implemented".
    # Lowered: the GELU's constant 1 joins the loop's frame by a control input.
    log = _model_test_log(
        bazel,
        scratch_package,
        "dense",
        DENSE_EXPORT,
        ["squash", "looped"],
        model_attrs=f"control_flow_v2 = {control_flow_v2},",
    )
    _assert_node_rows_pass(
        log,
        [
            ("squash", "tanh"),
            ("squash", "gelu"),
            ("squash", "one_hot"),
            ("looped", "gelu"),
            ("looped", "one_hot"),
        ],
    )


BIASES_EXPORT = """
import sys

import tensorflow as tf


class Biases(tf.Module):
    def __init__(self):
        super().__init__()
        self.filter = tf.Variable(tf.random.stateless_normal([1, 1, 3, 3], seed=[1, 2]))
        self.kernel = tf.Variable(tf.random.stateless_normal([3, 4], seed=[3, 4]))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 4, 4, 3], tf.float32, name="image"),
            tf.TensorSpec([None, 3], tf.float32, name="v"),
        ]
    )
    def fuse(self, image, v):
        conv = tf.nn.conv2d(image, self.filter, 1, "SAME")
        return {
            # MobileNetV3's hard-sigmoid: a scalar bias.
            "hard_sigmoid": tf.nn.relu6(conv + 3.0) / 6.0,
            # A residual connection (EfficientNet, ResNets): a computed bias.
            "residual": tf.nn.relu(tf.nn.conv2d(image, 0.5 * self.filter, 1, "SAME") + image),
            "dense": tf.matmul(v, self.kernel) + 1e-6,
            # A bias of shape [1]: wasm's _FusedMatMul read past it.
            "one_value": tf.nn.relu(tf.matmul(v, self.kernel) + tf.constant([3.0])),
        }


module = Biases()
tf.saved_model.save(module, sys.argv[1], signatures={"fuse": module.fuse})
"""


def test_fused_ops_with_scalar_and_computed_biases_run_on_wasm(bazel, scratch_package):
    # tensorflowjs fuses each add into the convolution or matmul before it,
    # and wasm's fused kernels refuse any bias but one value per channel.
    log = _model_test_log(bazel, scratch_package, "biases", BIASES_EXPORT, ["fuse"])
    _assert_node_rows_pass(
        log, [("fuse", output) for output in ("hard_sigmoid", "residual", "dense", "one_value")]
    )


RECURRENT_EXPORT = """
import sys

import keras
import tensorflow as tf


class Recurrent(tf.Module):
    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(1)
        self.layers = keras.Sequential(
            [
                keras.Input([5, 3]),
                keras.layers.LSTM(4, return_sequences=True),
                keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True)),
                keras.layers.SimpleRNN(2),
            ]
        )
        self.embedding = tf.Variable(tf.random.stateless_normal([10, 3], seed=[5, 6]))

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 3], tf.float32, name="x")])
    def keras_rnn(self, x):
        return {"h": self.layers(x)}

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 3], tf.float32, name="x")])
    def tensor_array(self, x):
        # Values that are no loop variable, written in a loop inside a loop
        # and in the branches of a tf.cond.
        rows = tf.TensorArray(tf.float32, size=5)
        for i in tf.range(5):
            columns = tf.TensorArray(tf.float32, size=3)
            for j in tf.range(3):
                columns = columns.write(j, tf.tanh(x[:, i, j]) * tf.cast(j + 1, tf.float32))
            if tf.reduce_sum(x[:, i, :]) > 0:
                rows = rows.write(i, tf.reduce_sum(columns.stack(), 0) + 1.0)
            else:  # written in a branch of a tf.cond in the loop
                rows = rows.write(i, tf.sigmoid(x[:, i, 0]))
        return {"rows": rows.stack()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
    def decode(self, ids):
        # A decoding loop that looks its token up in an embedding variable.
        token, total = ids, tf.zeros([tf.shape(ids)[0], 3])
        for _ in tf.range(4):
            vector = tf.gather(self.embedding, token)
            total += vector
            token = tf.argmax(vector, -1, output_type=tf.int32)
        return {"total": total}


module = Recurrent()
tf.saved_model.save(
    module,
    sys.argv[1],
    signatures={
        "keras_rnn": module.keras_rnn,
        "tensor_array": module.tensor_array,
        "decode": module.decode,
    },
)
"""


@pytest.mark.parametrize("control_flow_v2", [True, False])
def test_keras_rnns_tensor_arrays_and_gathers_in_loops_run_in_tfjs(
    bazel, scratch_package, control_flow_v2
):
    # Kept loops: TF.js disposed the tensors a loop body stored in a
    # TensorList (Keras's RNNs failed on wasm, a TensorArray of other values
    # on cpu and wasm), and a variable gathered from in a loop stayed a
    # ResourceGather, which TF.js lacks. Lowered loops: the RNNs and the
    # decoder never ran a second iteration in TF.js.
    log = _model_test_log(
        bazel,
        scratch_package,
        "recurrent",
        RECURRENT_EXPORT,
        ["keras_rnn", "tensor_array", "decode"],
        model_attrs=f"control_flow_v2 = {control_flow_v2},",
    )
    _assert_node_rows_pass(log, [("keras_rnn", "h"), ("tensor_array", "rows"), ("decode", "total")])


EMPTY_EXPORT = """
import sys

import tensorflow as tf


class Empty(tf.Module):
    def __init__(self):
        super().__init__()
        self.filter = tf.Variable(tf.random.stateless_normal([3, 1, 4], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 0], tf.float32, name="x")])
    def zero(self, x):
        return {"total": tf.reduce_sum(x, -1) + 1.0, "none": tf.zeros([0, 3])}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="audio")])
    def strided(self, audio):
        # Generated audio is [2, 2]: a width-3 filter leaves nothing, and
        # wasm's kernel then breaks its memory.
        return {"y": tf.nn.conv1d(audio[:, :, None], self.filter, stride=2, padding="VALID")}


module = Empty()
tf.saved_model.save(module, sys.argv[1], signatures={"zero": module.zero, "strided": module.strided})
"""


def test_zero_sizes_empty_outputs_and_a_crashing_backend_are_each_reported(bazel, scratch_package):
    # A size of 0 was written as {} in model.json, which TF.js read as NaN and
    # refused every input; an empty output passed with nothing compared; and
    # wasm's memory error while disposing a model ended the whole run with
    # one line naming no backend, signature or row.
    log = _model_test_log(
        bazel, scratch_package, "empty", EMPTY_EXPORT, ["zero", "strided"], passes=False
    )
    for environment in ("node cpu", "node wasm"):
        assert f"ok   {environment:15} {'zero':14} {'total':14} max abs" in log
        assert f"ok   {environment:15} {'zero':14} {'none':14} empty [0,3]; note:" in log
    assert f"ok   {'node cpu':15} {'strided':14} {'y':14} empty [2,0,4]; note:" in log
    assert re.search(
        r"FAIL node wasm +strided +\* +TF\.js failed: .*memory access out of bounds", log
    )
    assert "1 failed" in log


SMALL_INTEGERS_EXPORT = """
import sys

import tensorflow as tf


class SmallIntegers(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.uint8, name="x")])
    def unsigned(self, x):
        # TensorFlow's optimizer makes x + x a product by a uint8 constant.
        return {"plus": x + tf.constant(3, tf.uint8), "twice": x + x}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.int8, name="x")])
    def signed(self, x):
        return {"minus": x - tf.constant(4, tf.int8)}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def counts(self, x):
        return {"counts": tf.cast(tf.abs(x) * 100.0, tf.int16)}


module = SmallIntegers()
tf.saved_model.save(
    module,
    sys.argv[1],
    signatures={"unsigned": module.unsigned, "signed": module.signed, "counts": module.counts},
)
"""


def test_int8_uint8_and_int16_constants_and_outputs_run_in_tfjs(bazel, scratch_package):
    # TF.js loads no uint8 weight ("Unsupported dtype in weight"), tensorflowjs
    # wrote no int8 one (a bare ValueError), and TF.js knows no int16 type
    # ("Failed to cast to unknown dtype null"): all are int32 in TF.js.
    log = _model_test_log(
        bazel,
        scratch_package,
        "small_integers",
        SMALL_INTEGERS_EXPORT,
        ["unsigned", "signed", "counts"],
    )
    _assert_node_rows_pass(
        log,
        [("unsigned", "plus"), ("unsigned", "twice"), ("signed", "minus"), ("counts", "counts")],
    )


SPECTRA_EXPORT = """
import sys

import tensorflow as tf


class Spectra(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 400], tf.float32, name="audio")])
    def features(self, audio):
        stft = tf.signal.stft(audio, 64, 32, fft_length=64)
        magnitude = tf.abs(stft)
        mel = tf.tensordot(magnitude, tf.signal.linear_to_mel_weight_matrix(16, 33, 8000.0), 1)
        return {
            "magnitude": magnitude,
            "power": tf.math.real(stft * tf.math.conj(stft)),
            # cpu and webgl failed too: a complex StridedSlice.
            "mfcc": tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6)),
        }


module = Spectra()
tf.saved_model.save(module, sys.argv[1], signatures={"features": module.features})
"""


def test_spectra_and_mfccs_run_on_wasm_with_fft_as_matmul(bazel, scratch_package):
    # wasm has no complex numbers (no RFFT, Complex, Real, Imag, ComplexAbs);
    # TF.js's cpu ran no MFCC ("stridedSlice does not support complex64").
    log = _model_test_log(
        bazel,
        scratch_package,
        "spectra",
        SPECTRA_EXPORT,
        ["features"],
        model_attrs="fft_as_matmul = True, backends = ['cpu', 'wasm', 'webgl'],",
    )
    _assert_node_rows_pass(
        log, [("features", "magnitude"), ("features", "mfcc"), ("features", "power")]
    )


FOCUS_EXPORT = """
import sys

import tensorflow as tf


class Focus(tf.Module):
    def __init__(self):
        super().__init__()
        self.filter = tf.Variable(tf.random.stateless_normal([1, 1, 12, 4], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 6, 3], tf.float32, name="image")])
    def focus(self, image):
        # YOLOv5's Focus layer: each 2x2 block of pixels into the channels.
        return {"features": tf.nn.conv2d(tf.nn.space_to_depth(image, 2), self.filter, 1, "SAME")}


module = Focus()
tf.saved_model.save(module, sys.argv[1], signatures={"focus": module.focus})
"""


def test_space_to_depth_runs_in_tfjs(bazel, scratch_package):
    # No TF.js backend has a SpaceToDepth kernel: the conversion failed.
    log = _model_test_log(
        bazel,
        scratch_package,
        "focus",
        FOCUS_EXPORT,
        ["focus"],
    )
    _assert_node_rows_pass(log, [("focus", "features")])


TOP_K_EXPORT = """
import sys

import tensorflow as tf


class TopK(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="x")])
    def picks(self, x):
        # A loop body reads TopKV2's second output, its indices, as
        # `top_k:indices:0`: TF.js read output 0, the values.
        positions = tf.zeros([tf.shape(x)[0]], tf.int32)
        best = tf.zeros([tf.shape(x)[0]])
        for step in tf.range(3):
            values, indices = tf.math.top_k(x, k=2)
            positions += indices[:, 0] * (step + 1)
            best += values[:, 1]
            x = x - tf.one_hot(indices[:, 0], 5)
        return {"positions": positions, "best": best}


module = TopK()
tf.saved_model.save(module, sys.argv[1], signatures={"picks": module.picks})
"""


def test_top_k_indices_read_in_a_loop_body_run_in_tfjs(bazel, scratch_package):
    log = _model_test_log(bazel, scratch_package, "top_k", TOP_K_EXPORT, ["picks"])
    _assert_node_rows_pass(log, [("picks", "best"), ("picks", "positions")])


CAUSAL_EXPORT = """
import sys

import keras
import tensorflow as tf


class Causal(tf.Module):
    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(3)
        self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        self.attention(tf.zeros([1, 3, 8]), tf.zeros([1, 3, 8]), use_causal_mask=True)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 8], tf.float32, name="x")])
    def decode(self, x):
        # A causal mask over an unknown length: tf.linalg.band_part(ones, -1, 0).
        return {"attended": self.attention(x, x, use_causal_mask=True)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4], tf.float32, name="x")])
    def lower(self, x):
        return {"lower": tf.linalg.band_part(x, -1, 0), "band": tf.linalg.band_part(x, 1, 0)}


module = Causal()
tf.saved_model.save(module, sys.argv[1], signatures={"decode": module.decode, "lower": module.lower})
"""


def test_causal_masks_and_band_parts_run_in_tfjs(bazel, scratch_package):
    # TF.js read band_part's num_upper from num_lower's input: the causal
    # mask kept the whole matrix (cpu), and wasm aborted on the bool mask.
    log = _model_test_log(bazel, scratch_package, "causal", CAUSAL_EXPORT, ["decode", "lower"])
    _assert_node_rows_pass(log, [("decode", "attended"), ("lower", "band"), ("lower", "lower")])


MASKED_EXPORT = """
import sys

import tensorflow as tf


class Masked(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([4, 4], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def masked(self, x):
        # An attention mask's -1e9 and BERT's layer-norm epsilon of 1e-12:
        # float16 made them -inf and 0, and masked or zero rows NaN.
        scores = tf.matmul(x, self.kernel) + tf.where(x > 0.0, 0.0, -1e9)
        centered = x - tf.reduce_mean(x, -1, keepdims=True)
        normalized = centered / tf.sqrt(tf.reduce_mean(centered**2, -1, keepdims=True) + 1e-12)
        return {"attended": tf.nn.softmax(scores), "normalized": normalized}


module = Masked()
tf.saved_model.save(module, sys.argv[1], signatures={"masked": module.masked})
"""


def test_float16_keeps_masks_and_epsilons_it_cannot_hold(bazel, scratch_package):
    scratch_package.write(
        "inputs.json",
        json.dumps(
            {"masked": {"x": [[0.5, -1.0, 2.0, 0.0], [-1.0, -2.0, -0.5, -3.0], [0, 0, 0, 0]]}}
        ),
    )
    log = _model_test_log(
        bazel,
        scratch_package,
        "masked",
        MASKED_EXPORT,
        ["masked"],
        test_attrs='inputs = "inputs.json", atol = "1e-2", rtol = "1e-2",',
        model_attrs='quantization = "float16",',
    )
    _assert_node_rows_pass(log, [("masked", "attended"), ("masked", "normalized")])


BATCHED_GATHER_EXPORT = """
import sys

import tensorflow as tf


class Batched(tf.Module):
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 10, 4], tf.float32, name="sequence"),
            tf.TensorSpec([None, 6], tf.int32, name="ids"),
        ]
    )
    def pick(self, sequence, ids):
        # Each row's own positions (a pointer network, a beam's tokens).
        return {"picked": tf.gather(sequence, ids % 10, batch_dims=1)}


module = Batched()
tf.saved_model.save(module, sys.argv[1], signatures={"pick": module.pick})
"""


def test_a_gather_with_batch_axes_runs_on_wasm(bazel, scratch_package):
    # wasm's gather with batch_dims gave wrong values (-0.930 for 0.662).
    log = _model_test_log(bazel, scratch_package, "batched", BATCHED_GATHER_EXPORT, ["pick"])
    _assert_node_rows_pass(log, [("pick", "picked")])


ATTENTION_EXPORT = """
import sys

import keras
import tensorflow as tf


class Attention(tf.Module):
    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(2)
        # Keras computes attention and its dense projections with Einsum.
        self.block = keras.Sequential(
            [
                keras.Input([5, 8]),
                keras.layers.EinsumDense("...b,bc->...c", output_shape=6, bias_axes="c"),
            ]
        )
        self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        self.attention(tf.zeros([1, 5, 6]), tf.zeros([1, 5, 6]))
        self.kernel = tf.Variable(tf.random.stateless_normal([6, 6], seed=[7, 8]))
        self.heads = tf.Variable(tf.random.stateless_normal([1, 3, 4, 2], seed=[9, 9]))

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 8], tf.float32, name="x")])
    def attend(self, x):
        h = self.block(x)
        for _ in tf.range(2):  # the same Einsums in a loop's body
            h = tf.einsum("abc,cd->abd", self.attention(h, h), self.kernel)
        return {
            "attended": self.attention(h, h),
            # TF.js cpu's Einsum gave this the shape [2, 6] instead of [2].
            "total": tf.einsum("bij,bjk->b", h, tf.transpose(h, [0, 2, 1])),
            # Batch axes both operands broadcast ([2, 1] against [1, 3]).
            "broadcast": tf.einsum("...ij,...jk->...ik", x[:, None, :, :4], self.heads),
        }


module = Attention()
tf.saved_model.save(module, sys.argv[1], signatures={"attend": module.attend})
"""


@pytest.mark.parametrize("control_flow_v2", [True, False])
def test_keras_attention_and_einsums_in_loops_run_on_every_backend(
    bazel, scratch_package, control_flow_v2
):
    # wasm has no Einsum kernel (the backends budget refused the model), and
    # cpu's gave `bij,bjk->b` the wrong shape. A BatchMatMul broadcasting both
    # operands' batch axes held half its values.
    log = _model_test_log(
        bazel,
        scratch_package,
        "attention",
        ATTENTION_EXPORT,
        ["attend"],
        model_attrs=f"control_flow_v2 = {control_flow_v2}, backends = ['cpu', 'wasm', 'webgl'],",
    )
    _assert_node_rows_pass(
        log, [("attend", "attended"), ("attend", "broadcast"), ("attend", "total")]
    )


BRANCHES_EXPORT = """
import sys

import tensorflow as tf


class Branches(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def sign(self, x):
        positive = tf.reduce_sum(x) > 0
        return {"y": tf.cond(positive, lambda: x * 2.0, lambda: -x), "positive": positive}


module = Branches()
tf.saved_model.save(module, sys.argv[1], signatures={"sign": module.sign})
"""


def test_samples_run_a_signature_on_several_inputs_through_both_branches(bazel, scratch_package):
    log = _model_test_log(
        bazel, scratch_package, "branches", BRANCHES_EXPORT, ["sign"], "samples = 6,"
    )
    _assert_node_rows_pass(log, [("sign×6", "positive"), ("sign×6", "y")])
    package = scratch_package.label.removeprefix("//")
    reference = json.loads((bazel.bin / package / "branches_tfjs_test.reference.json").read_text())
    positive = [step["positive"]["data"][0] for step in reference["sequences"]["sign"]["steps"]]
    assert set(positive) == {True, False}, positive  # one input would take one branch


BREAKS_EXPORT = """
import sys

import tensorflow as tf


class Breaks(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def constant_branch(self, x):
        # The branch taken returns a constant.
        if tf.reduce_sum(x) > -5.0:
            y = tf.constant(1.0)
        else:
            y = tf.reduce_sum(x)
        return {"y": y * x}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def early_exit(self, x):
        # autograph's break: branches that return the constants True and False.
        total = tf.zeros_like(x)
        for _ in tf.range(20):
            total += tf.abs(x) + 0.1
            if tf.reduce_sum(total) > 1.5:
                break
        return {"total": total}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def skip_and_exit(self, x):
        # With continue, the loop body returns several outputs of one If.
        total, count = tf.zeros_like(x), tf.constant(0)
        for i in tf.range(10):
            if i % 2 == 1:
                continue
            if i >= 6:
                break
            total += tf.abs(x) * tf.cast(i + 1, tf.float32)
            count += 1
        return {"total": total, "count": count}


module = Breaks()
tf.saved_model.save(
    module,
    sys.argv[1],
    signatures={
        "constant_branch": module.constant_branch,
        "early_exit": module.early_exit,
        "skip_and_exit": module.skip_and_exit,
    },
)
"""


@pytest.mark.parametrize("control_flow_v2", [True, False])
def test_branches_returning_constants_and_loops_with_break_run_in_tfjs(
    bazel, scratch_package, control_flow_v2
):
    # Kept: tensorflowjs renamed the branch's constant but not the result
    # naming it ("Cannot compute the outputs", or "reading 'id'" for a break).
    # Lowered: TF.js's Merge took the constant of the branch that did not run
    # (the break's total came out 0).
    log = _model_test_log(
        bazel,
        scratch_package,
        "breaks",
        BREAKS_EXPORT,
        ["constant_branch", "early_exit", "skip_and_exit"],
        model_attrs=f"control_flow_v2 = {control_flow_v2},",
    )
    _assert_node_rows_pass(
        log,
        [
            ("constant_branch", "y"),
            ("early_exit", "total"),
            ("skip_and_exit", "count"),
            ("skip_and_exit", "total"),
        ],
    )


NESTED_EXPORT = """
import sys

import keras
import tensorflow as tf


class Nested(tf.Module):
    def __init__(self):
        super().__init__()
        keras.utils.set_random_seed(1)
        self.bigru = keras.Sequential(
            [
                keras.Input([5], dtype="int32"),
                keras.layers.Embedding(10, 3, mask_zero=True),
                keras.layers.Bidirectional(keras.layers.GRU(2)),
            ]
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def arrays(self, x):
        # Branches that take no input and return constants; an array written
        # by a loop in a loop; an array of arrays made in each iteration.
        sign = tf.cond(tf.reduce_sum(x) > 0.0, lambda: tf.constant(1.5), lambda: tf.constant(-2.5))
        flat = tf.TensorArray(tf.float32, size=6)
        outer = tf.TensorArray(tf.float32, size=3)
        for i in tf.range(3):
            inner = tf.TensorArray(tf.float32, size=2)
            for j in tf.range(2):
                value = x * tf.cast(i + 1, tf.float32) + tf.cast(j, tf.float32)
                flat = flat.write(i * 2 + j, value)
                inner = inner.write(j, value)
            outer = outer.write(i, inner.stack())
        return {"sign": sign * x, "flat": flat.stack(), "outer": outer.stack()}

    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.int32, name="ids")])
    def masked(self, ids):
        # Bidirectional reverses its bool mask: wasm's bool ReverseV2 aborted.
        # A scalar string output, from branches that take no input.
        text = tf.cond(
            tf.reduce_sum(ids) > 20, lambda: tf.constant("long"), lambda: tf.constant("short")
        )
        return {"h": self.bigru(ids), "text": text}


module = Nested()
tf.saved_model.save(
    module, sys.argv[1], signatures={"arrays": module.arrays, "masked": module.masked}
)
"""


@pytest.mark.parametrize("control_flow_v2", [True, False])
def test_nested_arrays_constant_branches_and_masked_rnns_run_in_tfjs(
    bazel, scratch_package, control_flow_v2
):
    log = _model_test_log(
        bazel,
        scratch_package,
        "nested",
        NESTED_EXPORT,
        ["arrays", "masked"],
        model_attrs=f"control_flow_v2 = {control_flow_v2},",
    )
    _assert_node_rows_pass(
        log,
        [
            ("arrays", "flat"),
            ("arrays", "outer"),
            ("arrays", "sign"),
            ("masked", "h"),
            ("masked", "text"),
        ],
    )
