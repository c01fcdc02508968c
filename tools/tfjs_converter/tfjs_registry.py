"""What the locked TF.js packages say about running a graph model: tfjs_kernels.json.

tools/tfjs_runner/kernel_registry.js writes it from the npm lock (see there):
each backend's kernels, the kernels each graph op runs, the ops that need
`executeAsync`, and the ops TF.js does not run on string tensors. A
backend's kernels are registered by op whatever the dtype, and strings fail
apart: TF.js's op functions refuse them for most ops (`must be numeric
tensor, but got string tensor`), on every backend, and wasm's kernels
abort or compute wrong values for some others (`string_ops.js` measures
both on cpu and wasm). A `tf.where` choosing between words, or a
`tf.transpose` of tokens, converted and failed at its first prediction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

KERNEL_REGISTRY = Path(__file__).with_name("tfjs_kernels.json")
BACKENDS = ("cpu", "wasm", "webgl", "webgpu")
_STRING = "DT_STRING"


@functools.lru_cache(maxsize=1)
def kernel_registry() -> dict[str, Any]:
    """tfjs_kernels.json: backend kernels, graph op -> kernels, executeAsync and string ops."""
    return json.loads(KERNEL_REGISTRY.read_text(encoding="utf-8"))


def ops_on_strings(topology: Mapping[str, Any]) -> list[str]:
    """The ops of a model.json topology (main graph and functions) typed with strings.

    An op takes or makes string tensors when one of its type attributes
    (`T`, `Tparams`, `dtype`) is string.
    """
    nodes = [*topology.get("node", [])]
    for function in topology.get("library", {}).get("function", []):
        nodes += function.get("nodeDef", [])
    return sorted(
        {
            node["op"]
            for node in nodes
            if any(value.get("type") == _STRING for value in node.get("attr", {}).values())
        }
    )


def refused_on_strings(ops: Iterable[str]) -> list[str]:
    """Of ops typed with strings, those no TF.js backend runs on them."""
    refused = set(kernel_registry()["string_ops"]["refused_by_core"])
    return sorted(set(ops) & refused)


def failing_on_strings(ops: Iterable[str], backend: str) -> list[str]:
    """Of ops typed with strings, those that fail on backend.

    Backends that were not measured (webgl, webgpu) fail those every backend
    refuses; their own kernels' faults are not known.
    """
    failing = set(kernel_registry()["string_ops"]["fail_on"].get(backend, []))
    return sorted(set(refused_on_strings(ops)) | (set(ops) & failing))
