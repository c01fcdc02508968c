"""The `tfjs_model` rule: SavedModel signatures to TensorFlow.js graph models."""

load(":providers.bzl", "TfjsModelInfo")
load(":python.bzl", "TOOLCHAIN_TYPE", "WORKER_REQUIREMENTS", "python_action")
load(":saved_model.bzl", "saved_model_info")

QUANTIZATIONS = ["none", "float16", "uint8", "uint16"]

# TF.js backends the report covers and `backends` may require; the kernel
# registry (tools/tfjs_converter/tfjs_kernels.json) has one entry each.
BACKENDS = ["cpu", "wasm", "webgl", "webgpu"]

# signature_options keys: the converter's per-signature options, and the
# signature's own size budget.
_SIGNATURE_OPTION_KEYS = [
    "quantization",
    "quantization_patterns",
    "weight_shard_size_bytes",
    "strip_debug_ops",
    "skip_op_check",
    "control_flow_v2",
    "fft_as_matmul",
    "max_bytes",
]
_BOOLEAN_KEYS = ["strip_debug_ops", "skip_op_check", "control_flow_v2", "fft_as_matmul"]
_BOOLEANS = ["true", "false", "1", "0"]
_REPORT_OUTPUT_GROUP = "report"

_SAFE_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

def check_signatures(signatures):
    """Fails unless signatures is a non-empty list of distinct, path-safe keys.

    Each signature becomes a directory `<name>/<signature>/`, so a key must be
    one path component.

    Args:
      signatures: list of str, the `signatures` attribute.
    """
    if not signatures:
        fail("signatures is empty: list the SavedModel signature keys to " +
             "convert, for example signatures = [\"serving_default\"].")
    seen = {}
    for signature in signatures:
        if signature in seen:
            fail("signatures lists '{}' twice: list each signature once.".format(signature))
        seen[signature] = True
        unsafe = [c for c in signature.elems() if c not in _SAFE_NAME_CHARACTERS]
        if not signature or signature in (".", "..") or unsafe:
            fail(("signatures has '{}', which cannot name an output directory: " +
                  "a signature key must be one path component of letters, " +
                  "digits, '_', '-' and '.'.").format(signature))

def _positive_int(text):
    """The int text spells if it is a positive whole number, else None."""
    if not text or not text.isdigit():
        return None
    value = int(text)
    return value if value > 0 else None

def _check_signature_setting(signature, setting):
    key, separator, value = setting.partition("=")
    if not separator or key not in _SIGNATURE_OPTION_KEYS:
        fail(("signature_options[\"{}\"] has '{}', which is not KEY=VALUE with a key " +
              "of: {}.").format(signature, setting, ", ".join(_SIGNATURE_OPTION_KEYS)))
    if key == "quantization" and value not in QUANTIZATIONS:
        fail("signature_options[\"{}\"] sets quantization to '{}': use one of {}.".format(
            signature,
            value,
            ", ".join(QUANTIZATIONS),
        ))
    if key in ("weight_shard_size_bytes", "max_bytes") and _positive_int(value) == None:
        fail("signature_options[\"{}\"] sets {} to '{}': use a positive whole number of bytes.".format(
            signature,
            key,
            value,
        ))
    if key in _BOOLEAN_KEYS and value.lower() not in _BOOLEANS:
        fail("signature_options[\"{}\"] sets {} to '{}': use true or false.".format(
            signature,
            key,
            value,
        ))
    if key == "quantization_patterns" and not value.strip():
        fail(("signature_options[\"{}\"] has an empty quantization pattern; use " +
              "\"quantization_patterns=*\" for all weights.").format(signature))
    return key, value

def _signature_options(ctx):
    """signature -> (converter settings, max_bytes or None), checked."""
    result = {}
    for signature, settings in ctx.attr.signature_options.items():
        if signature not in ctx.attr.signatures:
            fail(("signature_options names '{}', which is not in signatures ({}): " +
                  "fix the key or add the signature.").format(
                signature,
                ", ".join(ctx.attr.signatures),
            ))
        converter_settings = []
        max_bytes = None
        seen = {}
        for setting in settings:
            key, value = _check_signature_setting(signature, setting)
            if key in seen and key != "quantization_patterns":
                fail("signature_options[\"{}\"] sets {} twice.".format(signature, key))
            seen[key] = value
            if key == "max_bytes":
                max_bytes = int(value)
            else:
                converter_settings.append(setting)
        quantization = seen.get("quantization", ctx.attr.quantization)
        if "quantization_patterns" in seen and quantization == "none":
            fail(("signature_options[\"{}\"] sets quantization_patterns but its quantization " +
                  "is \"none\": add quantization=float16, uint8 or uint16.").format(signature))
        result[signature] = struct(settings = converter_settings, max_bytes = max_bytes)
    return result

def _budget(ctx, signature_options):
    if ctx.attr.max_bytes < 0:
        fail("max_bytes must be positive (or 0 for no limit), not {}.".format(ctx.attr.max_bytes))
    for backend in ctx.attr.backends:
        if backend not in BACKENDS:
            fail("backends has '{}': use some of {}.".format(backend, ", ".join(BACKENDS)))
    return struct(
        max_bytes = ctx.attr.max_bytes or None,
        signature_max_bytes = {
            signature: options.max_bytes
            for signature, options in signature_options.items()
            if options.max_bytes != None
        },
        backends = ctx.attr.backends,
    )

def _options(ctx):
    if ctx.attr.quantization not in QUANTIZATIONS:
        fail("quantization is '{}': use one of {}.".format(
            ctx.attr.quantization,
            ", ".join(QUANTIZATIONS),
        ))
    if ctx.attr.quantization == "none" and ctx.attr.quantization_patterns:
        fail("quantization_patterns is set but quantization is \"none\": set " +
             "quantization to float16, uint8 or uint16, or drop the patterns.")
    for pattern in ctx.attr.quantization_patterns:
        if not pattern.strip():
            fail("quantization_patterns has an empty pattern; use \"*\" for " +
                 "all weights.")
    if ctx.attr.weight_shard_size_bytes <= 0:
        fail("weight_shard_size_bytes must be positive, not {}.".format(
            ctx.attr.weight_shard_size_bytes,
        ))
    if not ctx.attr.saved_model_tags:
        fail("saved_model_tags is empty: name the MetaGraph's tags, usually [\"serve\"].")
    metadata = {}
    for target, key in ctx.attr.metadata.items():
        if not key:
            fail("metadata maps {} to an empty key.".format(target.label))
        if key in metadata:
            fail("metadata uses the key '{}' twice.".format(key))
        files = target[DefaultInfo].files.to_list()
        if len(files) != 1:
            fail("metadata entry {} must be one JSON file, not {}.".format(
                target.label,
                len(files),
            ))
        metadata[key] = files[0]
    return struct(
        quantization = ctx.attr.quantization,
        quantization_patterns = ctx.attr.quantization_patterns or ["*"],
        weight_shard_size_bytes = ctx.attr.weight_shard_size_bytes,
        strip_debug_ops = ctx.attr.strip_debug_ops,
        skip_op_check = ctx.attr.skip_op_check,
        control_flow_v2 = ctx.attr.control_flow_v2,
        fft_as_matmul = ctx.attr.fft_as_matmul,
        metadata = metadata,
    )

def _add_options(arguments, options):
    if options.quantization != "none":
        arguments.add("--quantization", options.quantization)
        arguments.add_all(options.quantization_patterns, before_each = "--quantization_pattern")
    arguments.add("--weight_shard_size_bytes", str(options.weight_shard_size_bytes))
    if options.strip_debug_ops:
        arguments.add("--strip_debug_ops")
    if options.skip_op_check:
        arguments.add("--skip_op_check")
    if not options.control_flow_v2:
        arguments.add("--nocontrol_flow_v2")
    if options.fft_as_matmul:
        arguments.add("--fft_as_matmul")
    for key, file in sorted(options.metadata.items()):
        arguments.add("--metadata", "{}={}".format(key, file.path))

def _add_budget(arguments, budget):
    if budget.max_bytes:
        arguments.add("--max_bytes", str(budget.max_bytes))
    for signature, limit in sorted(budget.signature_max_bytes.items()):
        arguments.add("--signature_max_bytes", "{}={}".format(signature, limit))
    arguments.add_all(budget.backends, before_each = "--backend")

def _tfjs_model_impl(ctx):
    check_signatures(ctx.attr.signatures)
    if _REPORT_OUTPUT_GROUP in ctx.attr.signatures:
        fail(("signatures has '{}', the name of the report's output group: " +
              "convert that signature with another tfjs_model.").format(_REPORT_OUTPUT_GROUP))
    options = _options(ctx)
    signature_options = _signature_options(ctx)
    budget = _budget(ctx, signature_options)
    saved_model = saved_model_info(ctx.attr.saved_model)
    directories = {
        signature: ctx.actions.declare_directory("{}/{}".format(ctx.label.name, signature))
        for signature in ctx.attr.signatures
    }
    report_json = ctx.actions.declare_file("{}.report.json".format(ctx.label.name))
    report_markdown = ctx.actions.declare_file("{}.report.md".format(ctx.label.name))

    arguments = ctx.actions.args()
    arguments.add("convert")
    arguments.add("--saved_model_dir", saved_model.root)
    arguments.add_joined("--tags", ctx.attr.saved_model_tags, join_with = ",")
    for signature, directory in directories.items():
        arguments.add("--output", "{}={}".format(signature, directory.path))
    _add_options(arguments, options)
    for signature, settings in sorted(signature_options.items()):
        arguments.add_all(
            settings.settings,
            format_each = signature + ":%s",
            before_each = "--signature_option",
        )
    _add_budget(arguments, budget)
    arguments.add("--report_json", report_json)
    arguments.add("--report_markdown", report_markdown)

    # Not str(ctx.label): Bazel 7 spells it "@@//..." and the report must be
    # the same bytes under every Bazel.
    arguments.add("--report_title", "{}//{}:{}".format(
        "@" + ctx.label.workspace_name if ctx.label.workspace_name else "",
        ctx.label.package,
        ctx.label.name,
    ))

    validation = python_action(
        ctx,
        arguments = arguments,
        inputs = depset(options.metadata.values(), transitive = [saved_model.files]),
        outputs = list(directories.values()) + [report_json, report_markdown],
        mnemonic = "TfjsConvert",
        execution_requirements = WORKER_REQUIREMENTS,
        progress_message = "Converting {} signature{} {} to TensorFlow.js".format(
            ctx.label,
            "s" if len(directories) > 1 else "",
            ", ".join(ctx.attr.signatures),
        ),
    )

    return [
        DefaultInfo(files = depset(directories.values())),
        OutputGroupInfo(
            report = depset([report_json, report_markdown]),
            _validation = validation,
            **{
                signature: depset([directory])
                for signature, directory in directories.items()
            }
        ),
        TfjsModelInfo(
            signatures = directories,
            saved_model = saved_model,
            saved_model_tags = ctx.attr.saved_model_tags,
            options = options,
            signature_options = {
                signature: settings.settings
                for signature, settings in signature_options.items()
            },
            report_json = report_json,
            report_markdown = report_markdown,
        ),
    ]

tfjs_model = rule(
    implementation = _tfjs_model_impl,
    doc = """Converts signatures of a TensorFlow SavedModel to TensorFlow.js graph models.

Each signature `s` becomes the directory `<name>/s/` with a `model.json` and
its weight shards, loadable with `tf.loadGraphModel`. The model.json input and
output keys are the SavedModel's own signature keys. The output group named
after a signature holds just that signature's directory:
`bazel build //pkg:name --output_groups=s`.

The output group `report` holds `<name>.report.json` and `<name>.report.md`:
per signature its inputs and outputs, sizes, weights by dtype, shards, largest
weights, op histogram, whether it needs `executeAsync`, the quantization error
of each quantized weight, and the ops without a kernel on each TF.js backend
(cpu, wasm, webgl, webgpu; from the kernel registries of the locked npm
packages). They are written by the same action as the models.

`max_bytes` and `backends` are budgets: a model over budget fails the build
with every problem listed and writes nothing.

The conversion runs tensorflowjs's graph-model pipeline in-process in the
hermetic environment of `rules_tfjs_dependencies()`, loading the SavedModel
once for all signatures. Its outputs are byte-for-byte reproducible.
""",
    attrs = {
        "saved_model": attr.label(
            mandatory = True,
            allow_files = True,
            doc = "The SavedModel: a `saved_model` target, a rule output " +
                  "directory, or a filegroup of checked-in files with " +
                  "`saved_model.pb` and `variables/`.",
        ),
        "signatures": attr.string_list(
            mandatory = True,
            doc = "The SavedModel signature keys to convert, each into its " +
                  "own directory. Non-empty, distinct, and each a single path " +
                  "component of letters, digits, `_`, `-` and `.`. A key the " +
                  "SavedModel lacks fails the build, listing its signatures.",
        ),
        "saved_model_tags": attr.string_list(
            default = ["serve"],
            doc = "The tag set of the MetaGraph to convert " +
                  "(tensorflowjs_converter's `--saved_model_tags`).",
        ),
        # Checked in the implementation, not with `values`: a bad value then
        # fails this target alone, not the loading of its whole package.
        "quantization": attr.string(
            default = "none",
            doc = "Store weights as `float16`, `uint8` or `uint16` " +
                  "(affine-quantized) instead of float32; `none` keeps them.",
        ),
        "quantization_patterns": attr.string_list(
            doc = "Which weights to quantize, as wildcard patterns of weight " +
                  "names (`*` matches any run of characters): the names in " +
                  "model.json's `weightsManifest` (the report lists the " +
                  "largest). A pattern that matches no weight fails the build, " +
                  "listing them. Empty: all weights. Needs `quantization`.",
        ),
        "weight_shard_size_bytes": attr.int(
            default = 4 * 1024 * 1024,
            doc = "Largest size of one weight shard file, in bytes.",
        ),
        "strip_debug_ops": attr.bool(
            default = False,
            doc = "Remove debug ops (Print, Assert, CheckNumerics).",
        ),
        "skip_op_check": attr.bool(
            default = False,
            doc = "Convert even if the graph has ops TensorFlow.js does not " +
                  "implement (the model will then fail when it runs them).",
        ),
        "control_flow_v2": attr.bool(
            default = True,
            doc = "Keep TF2 control flow (While/If) instead of lowering it; " +
                  "TensorFlow.js runs while-loops reliably only this way. A " +
                  "signature that reads a lookup table inside `tf.cond` or a " +
                  "loop needs it off (TensorFlow.js runs kept branches " +
                  "without the model's tables); its conversion fails saying so.",
        ),
        "fft_as_matmul": attr.bool(
            default = False,
            doc = "Compute `RFFT` and the complex values around it (`tf.abs`, " +
                  "`tf.math.real`, products, slices: a spectrogram, a log-mel or " +
                  "MFCC front end) with real matrix products, for TF.js's wasm " +
                  "backend, which has no complex numbers. Adds the DFT basis as " +
                  "a weight of fft_length × (fft_length + 2) float32 values (1 MB " +
                  "for 512). A graph with complex ops it cannot write converts " +
                  "as without it.",
        ),
        "metadata": attr.label_keyed_string_dict(
            allow_files = [".json"],
            doc = "JSON files to embed in each model.json's " +
                  "`userDefinedMetadata`, as {file: key}.",
        ),
        "signature_options": attr.string_list_dict(
            doc = "Options of single signatures, as {signature: [\"KEY=VALUE\", ...]}; " +
                  "they replace the model-wide attribute of the same name for that " +
                  "signature. Keys: `quantization` (setting it without " +
                  "`quantization_patterns` quantizes all the signature's weights), " +
                  "`quantization_patterns` (repeatable), `weight_shard_size_bytes`, " +
                  "`strip_debug_ops`, `skip_op_check`, `control_flow_v2`, " +
                  "`fft_as_matmul` (true/false), " +
                  "and `max_bytes`, the signature's own size budget. Checked at " +
                  "analysis time; the SavedModel is still loaded once.",
        ),
        "max_bytes": attr.int(
            default = 0,
            doc = "Budget: the largest total size in bytes of all signatures " +
                  "(model.json files and weight shards). A larger model fails the " +
                  "build, listing the overage and the biggest weights, and writes " +
                  "nothing. 0: no limit. Per signature: `signature_options`' `max_bytes`.",
        ),
        "backends": attr.string_list(
            doc = "Budget: the TF.js backends (`cpu`, `wasm`, `webgl`, `webgpu`) every " +
                  "signature must run on. An op without a kernel on one of them fails " +
                  "the build, listing each op and backend, and writes nothing.",
        ),
        "_converter": attr.label(
            default = Label("//tools/tfjs_converter"),
        ),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
