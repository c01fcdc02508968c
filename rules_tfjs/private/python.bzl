"""Runs the converter package in the toolchain's hermetic Python environment."""

TOOLCHAIN_TYPE = str(Label("//rules_tfjs:toolchain_type"))

# The environment is set in full: actions see nothing of the machine's own.
# Hash seeding and CPU-only kernels keep exported SavedModels reproducible.
_ACTION_ENV = {
    "CUDA_VISIBLE_DEVICES": "-1",
    "PYTHONHASHSEED": "0",
}

# A persistent worker imports TensorFlow once instead of per action; with
# workers off (remote execution, --strategy=TfjsConvert=sandboxed) the same
# command line runs as a one-shot process.
WORKER_REQUIREMENTS = {
    "requires-worker-protocol": "proto",
    "supports-workers": "1",
}

# -s: no user site-packages; -B: the environment is byte code already, and
# nothing may be written into it (its manifest would no longer match).
_INTERPRETER_FLAGS = ["-s", "-B"]

def _entry_point(converter):
    for source in converter[DefaultInfo].files.to_list():
        if source.basename == "__main__.py":
            return source
    fail("{} has no __main__.py".format(converter.label))

def python_action(
        ctx,
        arguments,
        inputs,
        outputs,
        mnemonic,
        progress_message,
        execution_requirements = {}):
    """Runs `python tfjs_converter <arguments>` as an action.

    Args:
      ctx: the rule context; needs a `_converter` attribute and the
        rules_tfjs toolchain.
      arguments: Args for the converter's command line; passed in a params
        file.
      inputs: depset of File the command reads besides the environment.
      outputs: list of File it writes.
      mnemonic: the action mnemonic.
      progress_message: the progress message.
      execution_requirements: passed on to the action.

    Returns:
      depset of File for the calling rule's `_validation` output group: the
      stamp of the toolchain's `TfjsCheckEnvironment` action. A validation,
      not an input, so the check of the environment's bytes runs beside the
      conversion instead of before it, and still fails the build.
    """
    python = ctx.toolchains[TOOLCHAIN_TYPE].python
    converter = ctx.attr._converter[DefaultInfo].files

    interpreter_arguments = ctx.actions.args()
    interpreter_arguments.add_all(_INTERPRETER_FLAGS)
    interpreter_arguments.add(_entry_point(ctx.attr._converter))

    arguments.use_param_file("@%s", use_always = True)
    arguments.set_param_file_format("multiline")

    ctx.actions.run(
        executable = python.interpreter,
        arguments = [interpreter_arguments, arguments],
        inputs = inputs,
        tools = depset(transitive = [python.files, converter]),
        outputs = outputs,
        env = _ACTION_ENV,
        mnemonic = mnemonic,
        progress_message = progress_message,
        execution_requirements = execution_requirements,
    )
    return depset([python.checked])
