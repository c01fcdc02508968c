"""What the server may serve: a table from URL path to file.

Every request is looked up in the table after its path is split into
segments and each segment is percent-decoded once; nothing is joined to a
directory at request time, so no spelling of a URL (`..`, `%2e%2e`, encoded
slashes, absolute paths) reaches a file that is not in the table. The given
files are fixed when the server starts; the files under a served model
directory are listed again for each request under its URL prefix, so a
rebuild that changes a model's shards shows on reload. A symlink among them
that leads outside the directory is left out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

# A segment that decodes to a separator or NUL is refused before decoding.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_FORBIDDEN_SEGMENTS = frozenset({".", ".."})

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    # WebAssembly.instantiateStreaming refuses any other type.
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The URL of the page's index of signatures, made from the manifest.
INDEX_PATH = "/index.json"


class SiteError(Exception):
    """The manifest names something that cannot be served; the message says what."""


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(path)[1], DEFAULT_CONTENT_TYPE)


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _directory_files(url_prefix: str, directory: Path) -> dict[str, Path]:
    """URL -> file for every file under directory that really lies inside it."""
    root = directory.resolve()
    files = {}
    for parent, _, names in os.walk(root):
        for name in names:
            path = Path(parent) / name
            real = path.resolve()
            if real.is_file() and _is_inside(real, root):
                relative = path.relative_to(root).as_posix()
                files[url_prefix + relative] = real
    return files


def _url_segments(target: str) -> list[str] | None:
    """The decoded segments of a request target's path, or None if refused."""
    if not target.startswith("/"):
        return None  # absolute-form ("http://host/...") or "*"
    path = target.split("?", 1)[0].split("#", 1)[0]
    segments = []
    for raw in path.split("/")[1:]:
        if _ENCODED_SEPARATOR.search(raw):
            return None
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
        if segment in _FORBIDDEN_SEGMENTS or "\\" in segment or "\x00" in segment:
            return None
        segments.append(segment)
    return segments


@dataclass(frozen=True)
class Site:
    """URL path -> file on disk, plus in-memory documents (the index).

    Attributes:
      files: the given files, by URL.
      directories: URL prefix (ending in "/") -> a model directory, whose files
        are served under it as they are when asked for.
    """

    title: str
    files: Mapping[str, Path]
    directories: Mapping[str, Path] = field(default_factory=dict)
    documents: Mapping[str, bytes] = field(default_factory=dict)

    def table(self, key: str) -> dict[str, Path]:
        """URL -> file: the given files, and the files now in the directories under key."""
        table = dict(self.files)
        for prefix, directory in self.directories.items():
            if key.startswith(prefix):
                table.update(_directory_files(prefix, directory))
        return table

    def lookup(self, target: str) -> tuple[str, Path | bytes] | None:
        """(content type, file or bytes) for a request target, or None: not served."""
        segments = _url_segments(target)
        if segments is None:
            return None
        key = "/" + "/".join(segments)
        if key in self.documents:
            return content_type(key), self.documents[key]
        file = self.table(key).get(key)
        return (content_type(file.name), file) if file else None


def load_site(manifest: Mapping, locate: Callable[[str], str | None]) -> Site:
    """Builds the table from a manifest written by tfjs_model_server.

    manifest: {"title": str, "files": {url: runfile}, "directories":
    {url prefix ending in "/": runfile}, "signatures": {name: model.json URL},
    "scripts": [URL of a backend bundle the page loads]}.
    locate: runfile path -> path on disk (Runfiles.Rlocation), or None.
    """

    def found(runfile: str) -> Path:
        located = locate(runfile)
        if not located or not os.path.exists(located):
            raise SiteError(
                f"{runfile} is not in the runfiles: run the server with `bazel run`, "
                "which builds its runfiles tree"
            )
        return Path(located)

    files = {url: found(runfile).resolve() for url, runfile in manifest["files"].items()}
    directories = {}
    for prefix, runfile in manifest["directories"].items():
        directory = found(runfile)
        if not directory.is_dir():
            raise SiteError(f"{runfile} should be a directory of model files")
        directories[prefix] = directory
    index = {
        "title": manifest["title"],
        "signatures": manifest["signatures"],
        "scripts": manifest["scripts"],
    }
    site = Site(
        title=manifest["title"],
        files=files,
        directories=directories,
        documents={INDEX_PATH: json.dumps(index, indent=2).encode()},
    )
    for name, url in manifest["signatures"].items():
        if url not in site.table(url):
            raise SiteError(f"signature {name}: {url} is missing from its model directory")
    return site
