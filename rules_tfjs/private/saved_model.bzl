"""The `saved_model` rule and how rules_tfjs finds a SavedModel in a target."""

load(":providers.bzl", "SavedModelInfo")
load(":python.bzl", "TOOLCHAIN_TYPE", "python_action")

def saved_model_info(target, attribute = "saved_model"):
    """Finds the SavedModel a target stands for.

    Args:
      target: a `saved_model` target, or any target whose files are a
        SavedModel directory (a tree artifact) or include its `saved_model.pb`.
      attribute: the attribute name, for error messages.

    Returns:
      SavedModelInfo.
    """
    if SavedModelInfo in target:
        return target[SavedModelInfo]
    files = target[DefaultInfo].files.to_list()
    directories = [f for f in files if f.is_directory]
    graphs = [f for f in files if f.basename == "saved_model.pb"]
    if len(directories) == 1 and len(files) == 1:
        return SavedModelInfo(root = directories[0].path, files = depset(files))
    if len(graphs) == 1:
        return SavedModelInfo(root = graphs[0].dirname, files = depset(files))
    if len(graphs) > 1:
        fail(("{attr} = {target} has {count} saved_model.pb files ({paths}); " +
              "point {attr} at a target holding exactly one SavedModel.").format(
            attr = attribute,
            target = target.label,
            count = len(graphs),
            paths = ", ".join([g.short_path for g in graphs]),
        ))
    fail(("{attr} = {target} is not a SavedModel: it has no saved_model.pb. " +
          "Point {attr} at a saved_model target, a rule output directory, or " +
          "a filegroup with saved_model.pb and the files under variables/.").format(
        attr = attribute,
        target = target.label,
    ))

def _saved_model_impl(ctx):
    output = ctx.actions.declare_directory(ctx.label.name)
    arguments = ctx.actions.args()
    arguments.add("export")
    arguments.add("--script", ctx.file.src)
    arguments.add("--output_dir", output.path)
    arguments.add_all(
        [ctx.expand_location(arg, ctx.attr.data) for arg in ctx.attr.args],
        before_each = "--script_arg",
    )
    validation = python_action(
        ctx,
        arguments = arguments,
        inputs = depset([ctx.file.src] + ctx.files.data),
        outputs = [output],
        mnemonic = "TfjsSavedModel",
        progress_message = "Exporting SavedModel {} with {}".format(
            ctx.label,
            ctx.file.src.short_path,
        ),
    )
    files = depset([output])
    return [
        DefaultInfo(files = files),
        OutputGroupInfo(_validation = validation),
        SavedModelInfo(root = output.path, files = files),
    ]

saved_model = rule(
    implementation = _saved_model_impl,
    doc = """Builds a SavedModel directory by running a Python export script.

The script runs in rules_tfjs's hermetic Python environment (the same
TensorFlow as the converter) and must write a SavedModel into the directory
named by `sys.argv[1]`, for example with
`tf.saved_model.save(module, sys.argv[1], signatures=...)`. Arguments from
`args` follow it. Seed every random initialiser: the output is cached and must
not change between runs. What the script prints is shown only if it fails.
""",
    attrs = {
        "src": attr.label(
            allow_single_file = [".py"],
            mandatory = True,
            doc = "The export script.",
        ),
        "data": attr.label_list(
            allow_files = True,
            doc = "Files the script reads (helper modules beside it, " +
                  "vocabularies, weights).",
        ),
        "args": attr.string_list(
            doc = "More arguments for the script, after the output directory. " +
                  "`$(location label)` and `$(execpath label)` of a `data` label " +
                  "become its path, relative to the directory the script runs in.",
        ),
        "_converter": attr.label(
            default = Label("//tools/tfjs_converter"),
        ),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
