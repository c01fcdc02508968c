"""Converts TensorFlow SavedModel signatures to TensorFlow.js graph models, in-process.

The library API, usable without Bazel:

    import tfjs_converter
    tfjs_converter.convert_saved_model("wake", ["filter", "encode"], "out")
    tfjs_converter.convert_concrete_function(module.f.get_concrete_function(), "out/f")

Importing the package does not import TensorFlow; the names below load their
module (and TensorFlow) on first use, so the command line can keep
TensorFlow's start-up noise out of the build log.
"""

import importlib
import os
from typing import Any

# What the process was started with, before this package and TensorFlow add
# to it: a worker that restarts itself starts again from it.
STARTING_ENVIRONMENT = dict(os.environ)

# TF-DF, which tensorflowjs imports, prints a welcome banner, and imports
# IPython to print it whenever stdout is not a plain file (under pytest, in a
# Bazel worker), which fails where IPython is not installed.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

# TensorFlow turns its oneDNN graph rewrites on by default only on CPUs with
# AVX512_VNNI, AVX_VNNI or AMX, and with them on, grappler's remapper (which
# tensorflowjs runs) also fuses Tanh and Sigmoid into _FusedMatMul. The same
# action would then write other bytes on another CPU, and a fused Tanh fails
# on every TF.js backend. TensorFlow reads this once, when first imported.
ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
os.environ[ONEDNN_VARIABLE] = "0"

_EXPORTS = {
    "ConversionError": "tfjs_converter.errors",
    "ConversionOptions": "tfjs_converter.options",
    "ConversionRequest": "tfjs_converter.convert",
    "convert": "tfjs_converter.convert",
    "convert_saved_model": "tfjs_converter.convert",
    "convert_concrete_function": "tfjs_converter.pipeline",
    "load_saved_model": "tfjs_converter.saved_model",
    "export_saved_model": "tfjs_converter.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    return getattr(module, name)
