"""The toolchain that gives rules_tfjs actions their Python environment."""

TfjsPythonInfo = provider(
    doc = "A Python interpreter and every file of its environment.",
    fields = {
        "interpreter": "File: the environment's interpreter.",
        "files": "depset of File: everything the interpreter may read.",
        "python_version": "str: the `X.Y` version of the interpreter.",
    },
)

def _tfjs_python_toolchain_impl(ctx):
    python = TfjsPythonInfo(
        interpreter = ctx.file.interpreter,
        files = depset(ctx.files.files + [ctx.file.interpreter]),
        python_version = ctx.attr.python_version,
    )
    return [platform_common.ToolchainInfo(python = python)]

tfjs_python_toolchain = rule(
    implementation = _tfjs_python_toolchain_impl,
    doc = "Declares a Python environment able to run the rules_tfjs converter.",
    attrs = {
        "files": attr.label_list(
            allow_files = True,
            doc = "Every file of the environment (site-packages, pyvenv.cfg).",
        ),
        "interpreter": attr.label(
            allow_single_file = True,
            mandatory = True,
            doc = "The environment's `bin/python3`.",
        ),
        "python_version": attr.string(
            mandatory = True,
            doc = "The `X.Y` version of the interpreter.",
        ),
    },
)
