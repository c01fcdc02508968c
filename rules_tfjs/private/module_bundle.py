"""The converter environment's byte code, in one file that Python imports from.

Bazel handles every file of the environment as a target: a new server loads
and analyses each one (about 0.4 ms a file on 2 cores), and every sandbox
holds a symlink to each. Nine files in ten are byte code (`x.pyc`, which
takes the place of `x.py`). `pack` moves them into one bundle file; an import
hook, which a `.pth` file installs when the interpreter starts, imports them
from it.

Nothing else changes for the code that runs: the hook answers for the same
directories, in the same order, with the same `__file__`, `__path__` and
`__cached__` the files would have given. What stays a file is imported as
before (extension modules, sources kept beside their byte code, packages'
data files), and so is what the interpreter imports before the hook is
installed, which `pack` asks the interpreter itself.

This file is copied into the environment as a top-level module
(`BUNDLE_MODULE`) and runs there; `pack` runs in the script that creates the
environment.
"""

from __future__ import annotations

import marshal
import os
import sys
from importlib.machinery import ModuleSpec
from importlib.util import MAGIC_NUMBER, spec_from_file_location

BUNDLE_MODULE = "_rules_tfjs_module_bundle"
BUNDLE = "rules_tfjs_modules.bundle"  # in the environment's lib/
PTH = "00_rules_tfjs_module_bundle.pth"  # .pth files run in name order
_MAGIC = b"rules_tfjs module bundle 1\n"
_HEADER = len(_MAGIC) + 8
_BYTE_CODE = ".pyc"
_INIT = "__init__"


def _split(relative: str) -> tuple[str, str]:
    directory, _, name = relative.rpartition("/")
    return directory, name


class _Index:
    """The bundle's table: where each byte-code file's bytes are."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        header = os.pread(self.fd, _HEADER, 0)
        if header[: len(_MAGIC)] != _MAGIC:
            raise ImportError(f"{path} is not a rules_tfjs module bundle")
        size = int.from_bytes(header[len(_MAGIC) :], "little")
        # {directory: {module name: (offset, size, is_package)}}, and the
        # directories that hold bundled files (namespace packages among them);
        # offsets count from the end of the table.
        self.modules, self.directories = marshal.loads(os.pread(self.fd, size, _HEADER))
        self.start = _HEADER + size

    def data(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, self.start + offset)

    def code(self, offset: int, size: int, name: str):
        data = self.data(offset, size)
        # A .pyc: 16 bytes of header (magic, flags, hash), then the code.
        if data[:4] != MAGIC_NUMBER:
            raise ImportError(f"bad magic number in the bundled byte code of {name}", name=name)
        return marshal.loads(data[16:])


class _Loader:
    """Loads one bundled module, as the sourceless file loader would."""

    def __init__(self, index: _Index, path: str, entry: tuple) -> None:
        self.index, self.path, self.entry = index, path, entry

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        exec(self.get_code(module.__name__), module.__dict__)

    def get_code(self, fullname: str):
        offset, size, _ = self.entry
        return self.index.code(offset, size, fullname)

    def get_source(self, fullname: str) -> None:
        return None  # byte code only, as before

    def is_package(self, fullname: str) -> bool:
        return self.entry[2]

    def get_filename(self, fullname: str) -> str:
        return self.path

    def get_resource_reader(self, fullname: str):
        # importlib.resources reads a package's data files from its directory.
        if not self.entry[2]:
            return None
        from importlib.readers import FileReader

        return FileReader(self)


class _Finder:
    """The path entry finder of one directory of the environment."""

    def __init__(self, index: _Index, path: str, relative: str, on_disk) -> None:
        self.index, self.path, self.on_disk = index, path, on_disk
        self.modules = index.modules.get(relative, {})
        self.subdirectories = index.directories.get(relative, ())

    def _spec(self, fullname: str, name: str, entry: tuple):
        is_package = entry[2]
        directory = os.path.join(self.path, name) if is_package else self.path
        path = os.path.join(directory, (_INIT if is_package else name) + _BYTE_CODE)
        return spec_from_file_location(
            fullname,
            path,
            loader=_Loader(self.index, path, entry),
            submodule_search_locations=[directory] if is_package else None,
        )

    def find_spec(self, fullname: str, target=None):
        name = fullname.rpartition(".")[2]
        entry = self.modules.get(name)
        # The file finder's order: a package, then a module of each kind.
        if entry is not None and entry[2]:
            return self._spec(fullname, name, entry)
        found = self.on_disk.find_spec(fullname, target) if self.on_disk else None
        if found is not None and found.loader is not None:
            return found
        if entry is not None:
            return self._spec(fullname, name, entry)
        if found is None and name in self.subdirectories:
            found = ModuleSpec(fullname, None, is_package=True)
            found.submodule_search_locations = [os.path.join(self.path, name)]
        return found

    def invalidate_caches(self) -> None:
        if self.on_disk:
            self.on_disk.invalidate_caches()

    def iter_modules(self, prefix: str = ""):
        import pkgutil

        seen = set()
        for name, entry in sorted(self.modules.items()):
            seen.add(name)
            yield prefix + name, entry[2]
        if self.on_disk:
            for name, is_package in pkgutil.iter_importer_modules(self.on_disk, prefix):
                if name[len(prefix) :] not in seen:
                    yield name, is_package


def install(root: str | None = None) -> None:
    """Imports the environment's bundled byte code; run by the environment's .pth file."""
    root = root or sys.prefix
    index = _Index(os.path.join(root, "lib", BUNDLE))
    file_hooks = list(sys.path_hooks)

    def hook(path: str) -> _Finder:
        if path != root and not path.startswith(root + os.sep):
            raise ImportError("not in the environment", path=path)
        relative = path[len(root) + 1 :].replace(os.sep, "/")
        if relative not in index.modules and relative not in index.directories:
            raise ImportError("no bundled modules here", path=path)
        on_disk = None
        for file_hook in file_hooks:
            try:
                on_disk = file_hook(path)
                break
            except ImportError:
                continue
        return _Finder(index, path, relative, on_disk)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def read(bundle: str) -> dict[str, bytes]:
    """The bytes of every bundled file, by its path relative to the environment."""
    index, files = _Index(bundle), {}
    for directory, modules in index.modules.items():
        for name, (offset, size, is_package) in modules.items():
            relative = f"{directory}/{name}/{_INIT}" if is_package else f"{directory}/{name}"
            files[relative + _BYTE_CODE] = index.data(offset, size)
    os.close(index.fd)
    return files


def pack_this_environment() -> None:
    """pack(sys.prefix), keeping what this interpreter has imported so far as files.

    Run as `python3 -I -B -c "import BUNDLE_MODULE ...; pack_this_environment()"`
    before the .pth exists: what it has imported then is what the interpreter
    imports at start-up, and the hook itself.
    """
    root = sys.prefix
    stdlib = os.path.join(root, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    # The codecs of the standard streams are imported before any .pth runs,
    # and which ones depends on the locale and PYTHONIOENCODING.
    codecs = os.path.join(stdlib, "encodings")
    imported = {
        os.path.relpath(os.path.join(codecs, name), root).replace(os.sep, "/")
        for name in os.listdir(codecs)
    }
    imported |= {
        os.path.relpath(module.__spec__.origin, root).replace(os.sep, "/")
        for module in list(sys.modules.values())
        if getattr(module, "__spec__", None) is not None
        and module.__spec__.has_location
        and module.__spec__.origin.startswith(root + os.sep)
    }
    pack(root, imported)


def pack(env: str, keep: set[str]) -> None:
    """Moves env's byte-code files, but those named in keep, into env/lib/BUNDLE.

    A file `d/x.pyc` is bundled under directory `d`, name `x`; `d/x/__init__.pyc`
    under `d`, name `x`, as a package. keep holds paths relative to env.
    Directories left empty are removed. The bundle's bytes depend only on the
    files' paths and bytes.
    """
    bundled = []
    for directory, subdirectories, files in os.walk(env):
        subdirectories.sort()
        relative_directory = os.path.relpath(directory, env).replace(os.sep, "/")
        if "__pycache__" in relative_directory.split("/"):
            continue  # byte code of a kept source: it stays beside the source
        for name in sorted(files):
            relative = name if relative_directory == "." else f"{relative_directory}/{name}"
            if name.endswith(_BYTE_CODE) and relative not in keep:
                bundled.append(relative)
    modules: dict[str, dict[str, tuple[int, int, bool]]] = {}
    directories: dict[str, set[str]] = {}
    blobs, offset = [], 0
    for relative in sorted(bundled):
        with open(os.path.join(env, relative), "rb") as stream:
            data = stream.read()
        directory, name = _split(relative.removesuffix(_BYTE_CODE))
        is_package = name == _INIT
        if is_package:
            directory, name = _split(directory)
        modules.setdefault(directory, {})[name] = (offset, len(data), is_package)
        blobs.append(data)
        offset += len(data)
        # Every directory up to the root holds bundled modules: a finder for
        # each, and namespace packages where there is no __init__.
        parent = _split(relative)[0]
        while parent:
            above, child = _split(parent)
            directories.setdefault(above, set()).add(child)
            parent = above
    table = marshal.dumps(
        (
            {d: dict(sorted(m.items())) for d, m in sorted(modules.items())},
            {d: tuple(sorted(c)) for d, c in sorted(directories.items())},
        )
    )
    with open(os.path.join(env, "lib", BUNDLE), "wb") as stream:
        stream.write(_MAGIC + len(table).to_bytes(8, "little") + table)
        for blob in blobs:
            stream.write(blob)
    for relative in bundled:
        os.unlink(os.path.join(env, relative))
    for directory, _, _ in sorted(os.walk(env), reverse=True):
        if directory != env and not os.listdir(directory):
            os.rmdir(directory)
