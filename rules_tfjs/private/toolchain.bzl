"""The toolchain that gives rules_tfjs actions their Python environment."""

TfjsPythonInfo = provider(
    doc = "A Python interpreter and every file of its environment.",
    fields = {
        "interpreter": "File: the environment's interpreter.",
        "files": "depset of File: everything the interpreter may read.",
        "python_version": "str: the `X.Y` version of the interpreter.",
        "checked": "File: written by the TfjsCheckEnvironment action once " +
                   "the environment's files match its manifest. Every rule " +
                   "that runs the interpreter puts it in its `_validation` " +
                   "output group.",
    },
)

def _tfjs_python_toolchain_impl(ctx):
    files = depset(ctx.files.files + [ctx.file.interpreter])
    checked = ctx.actions.declare_file(ctx.label.name + ".environment_checked")
    arguments = ctx.actions.args()
    arguments.add_all(["-I", "-B", ctx.file._checker, "check"])
    arguments.add("--manifest", ctx.file.manifest)
    arguments.add("--stamp", checked)
    ctx.actions.run(
        executable = ctx.file.interpreter,
        arguments = [arguments],
        inputs = depset([ctx.file.manifest, ctx.file._checker], transitive = [files]),
        outputs = [checked],
        mnemonic = "TfjsCheckEnvironment",
        progress_message = "Checking the converter environment {} against its manifest".format(ctx.label),
    )
    python = TfjsPythonInfo(
        interpreter = ctx.file.interpreter,
        files = files,
        python_version = ctx.attr.python_version,
        checked = checked,
    )
    return [platform_common.ToolchainInfo(python = python)]

tfjs_python_toolchain = rule(
    implementation = _tfjs_python_toolchain_impl,
    doc = """Declares a Python environment able to run the rules_tfjs converter.

Checks the environment's files against its manifest (action
`TfjsCheckEnvironment`, cached like any other), as a validation of every rule
that uses it: the check runs beside their actions and fails the build.
""",
    attrs = {
        "files": attr.label_list(
            allow_files = True,
            doc = "Every file of the environment (interpreter, standard " +
                  "library, site-packages).",
        ),
        "interpreter": attr.label(
            allow_single_file = True,
            mandatory = True,
            doc = "The environment's `bin/python3`.",
        ),
        "manifest": attr.label(
            allow_single_file = True,
            mandatory = True,
            doc = "The sha256 of every file of the environment, as " +
                  "`sha256sum` prints them, relative to the `env` directory " +
                  "beside it.",
        ),
        "python_version": attr.string(
            mandatory = True,
            doc = "The `X.Y` version of the interpreter.",
        ),
        "_checker": attr.label(
            default = Label("//rules_tfjs/private:python_env.py"),
            allow_single_file = True,
        ),
    },
)
