"""The `tfjs_model` rule: SavedModel signatures to TensorFlow.js graph models."""

load(":providers.bzl", "TfjsModelInfo")
load(":python.bzl", "TOOLCHAIN_TYPE", "WORKER_REQUIREMENTS", "python_action")
load(":saved_model.bzl", "saved_model_info")

QUANTIZATIONS = ["none", "float16", "uint8", "uint16"]

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

def _options(ctx):
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
    for key, file in sorted(options.metadata.items()):
        arguments.add("--metadata", "{}={}".format(key, file.path))

def _tfjs_model_impl(ctx):
    check_signatures(ctx.attr.signatures)
    options = _options(ctx)
    saved_model = saved_model_info(ctx.attr.saved_model)
    directories = {
        signature: ctx.actions.declare_directory("{}/{}".format(ctx.label.name, signature))
        for signature in ctx.attr.signatures
    }

    arguments = ctx.actions.args()
    arguments.add("convert")
    arguments.add("--saved_model_dir", saved_model.root)
    arguments.add_joined("--tags", ctx.attr.saved_model_tags, join_with = ",")
    for signature, directory in directories.items():
        arguments.add("--output", "{}={}".format(signature, directory.path))
    _add_options(arguments, options)

    python_action(
        ctx,
        arguments = arguments,
        inputs = depset(options.metadata.values(), transitive = [saved_model.files]),
        outputs = directories.values(),
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
        OutputGroupInfo(**{
            signature: depset([directory])
            for signature, directory in directories.items()
        }),
        TfjsModelInfo(
            signatures = directories,
            saved_model = saved_model,
            saved_model_tags = ctx.attr.saved_model_tags,
            options = options,
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
                  "component of letters, digits, `_`, `-` and `.`.",
        ),
        "saved_model_tags": attr.string_list(
            default = ["serve"],
            doc = "The tag set of the MetaGraph to convert " +
                  "(tensorflowjs_converter's `--saved_model_tags`).",
        ),
        "quantization": attr.string(
            default = "none",
            values = QUANTIZATIONS,
            doc = "Store weights as `float16`, `uint8` or `uint16` " +
                  "(affine-quantized) instead of float32; `none` keeps them.",
        ),
        "quantization_patterns": attr.string_list(
            doc = "Which weights to quantize, as wildcard patterns of weight " +
                  "names (`*` matches any run of characters). Empty: all " +
                  "weights. Needs `quantization`.",
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
                  "TensorFlow.js runs while-loops reliably only this way.",
        ),
        "metadata": attr.label_keyed_string_dict(
            allow_files = [".json"],
            doc = "JSON files to embed in each model.json's " +
                  "`userDefinedMetadata`, as {file: key}.",
        ),
        "_converter": attr.label(
            default = Label("//tools/tfjs_converter"),
        ),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
