"""Names for the nodes a graph rewrite adds, free in the graph it adds them to."""

from __future__ import annotations

from collections.abc import Iterable


class FreeNames:
    """Hands out node names no node of a graph has yet: `X/bias`, else `X/bias_1`, ...

    TensorFlow's name scopes keep `X/bias` free beside a node `X` in graphs
    that Python code built; a hand-made or imported graph may still hold it.
    """

    def __init__(self, taken: Iterable[str]) -> None:
        self._taken = set(taken)

    def free(self, name: str) -> str:
        candidate, suffix = name, 0
        while candidate in self._taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        self._taken.add(candidate)
        return candidate
