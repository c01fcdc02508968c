"""Creates rules_tfjs's Python environment from a hash-checked lock file.

Run by the `tfjs_python_environment` repository rule with the interpreter it
chose. Every byte of the environment is an input of cached actions, so it must
be the same wherever it is made: in any HOME, cache directory, output base or
checkout, and from any copy of the same Python build at any prefix.

The environment is therefore not a venv (a venv names its interpreter by
absolute path) but a relocatable copy of the interpreter itself, with the
locked packages installed into it:

* `bin/python3.X` and `lib/libpython3.X.so.1.0` are the interpreter's own
  bytes; `bin/python3` is a launcher that puts the copied libpython first on
  the library path (the binary's RUNPATH names its install prefix). CPython
  finds its prefix by searching upwards from its real executable for
  `lib/python3.X/os.py`, so the copy uses its own standard library wherever
  it lives;
* the standard library is copied without what no conversion imports (tests,
  IDLE, Tkinter, the static library and build files);
* uv installs the lock (`installer_lock.txt` pins uv, which the standard
  library's bundled pip downloads), so neither is installed into it; the
  console scripts uv writes hold the environment's absolute path in their
  shebang: they are removed, and so are their lines in the packages' RECORD
  files;
* every file is an input Bazel tracks, digests and lays out in each sandbox,
  so what is never read at run time goes: TensorFlow's C++ headers (half of
  all files), and the C sources, headers and type stubs packages ship for
  compilers and type checkers;
* shared objects lose their symbol tables and debug sections, which only
  debuggers read (`elf_symbols`): a quarter of all bytes;
* byte code is compiled once, with paths relative to its directory, so it
  depends neither on file times nor on location, and it takes the place of
  its source (`x.py` becomes `x.pyc`): half the files, and nothing to
  recompile. Tracebacks through the environment name file and line but do
  not quote source lines. Sources read at run time stay (`KEPT_SOURCES`).
* that byte code then moves into one file, imported through a hook that a
  `.pth` file installs (`module_bundle`): a new Bazel server spends about
  0.4 ms on each file it is told of, and byte code was nine files in ten.

The finished tree is described by a manifest, a sha256 of every file
(`env.sha256`, in `sha256sum` format). It is built once per machine in a cache
directory, keyed by the lock file, this script and the interpreter's version
and bytes (never its location), checked against its manifest, and hard-linked
into each Bazel output base that asks for it. `verify` compares a tree with
its manifest; the toolchain runs it as a validation action beside every
conversion.
"""

from __future__ import annotations

import argparse
import compileall
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

ENVIRONMENT_DIR = "env"
MANIFEST = "env.sha256"
_PYTHON = f"python{sys.version_info[0]}.{sys.version_info[1]}"
_STDLIB = Path("lib") / _PYTHON
_SITE_PACKAGES = _STDLIB / "site-packages"
# Parts of the standard library no conversion imports; `config-*` holds the
# static libpython and build files.
_UNUSED_STDLIB = re.compile(
    r"__pycache__|site-packages|test|tests|idle_test|idlelib|tkinter|turtledemo|config-.*"
)
_HEADER_DIRS = ("tensorflow/include",)
_BUILD_ONLY_SUFFIXES = frozenset({".c", ".cc", ".f", ".f90", ".h", ".pxd", ".pyf", ".pyi", ".pyx"})
# Sources read at run time stay beside their byte code (paths relative to the
# standard library or site-packages):
# - older interpreters find their prefix by the landmark `os.py`;
# - TensorFlow reads ag_logging's source to tell whether AutoGraph can read
#   sources at all, and without it warns on every import that AutoGraph is
#   not available (it is: it converts user code, which is in the workspace);
# - AutoGraph converts the wrappers that tf.saved_model.save and Keras put
#   around signatures (they carry the user's module name, so they count as
#   user code); without their source they would run unconverted, with a
#   warning on every save.
# tests/environment_test.py exports through tf.function, tf.saved_model.save
# and Keras, and fails on any AutoGraph warning.
KEPT_SOURCES = frozenset(
    {
        "os.py",
        "tensorflow/python/autograph/utils/ag_logging.py",
        "tensorflow/python/saved_model/signature_serialization.py",
        "keras/src/backend/tensorflow/layer.py",
    }
)
# A cache entry is checked by file sizes and times when it is linked into an
# output base (a second sha256 pass over 1 GB would double the time a new
# output base takes); the toolchain's action checks every byte.
STAT_INDEX = "env.stat"
INSTALLER_LOCK = "installer_lock.txt"
_RECORD_SCRIPT_LINE = re.compile(r"^(\.\./)+bin/[^,]*,")
_LAUNCHER = """#!/bin/sh
# rules_tfjs's converter environment: runs its own copy of the interpreter with
# its own libpython, wherever the environment is.
here="$(cd "${{0%/*}}" && pwd)"
LD_LIBRARY_PATH="$here/../lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
export LD_LIBRARY_PATH
exec "$here/{python}" "$@"
"""
_MAX_LISTED = 20


class SetupError(Exception):
    """An environment that cannot be made or differs from its manifest."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _interpreter_files() -> list[Path]:
    """The running interpreter's binary and shared libpython (if it has one)."""
    prefix = Path(sys.base_prefix)
    files = [prefix / "bin" / _PYTHON]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        files.append(prefix / "lib" / sysconfig.get_config_var("INSTSONAME"))
    for path in files:
        if not path.is_file():
            raise SetupError(
                f"{path} is missing: {sys.executable} is not a standard CPython "
                "installation (bin/, lib/ under one prefix). Choose another "
                "interpreter with python_interpreter or RULES_TFJS_PYTHON."
            )
    return files


def environment_key(requirements: Path) -> str:
    """Depends on what the environment is made of, never on where anything lives."""
    digest = hashlib.sha256()
    for part in (
        requirements.read_bytes(),
        Path(__file__).read_bytes(),
        Path(__file__).with_name("elf_symbols.py").read_bytes(),
        Path(__file__).with_name("module_bundle.py").read_bytes(),
        Path(__file__).with_name(INSTALLER_LOCK).read_bytes(),
        sys.version.encode(),
        *(path.read_bytes() for path in _interpreter_files()),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def tree_digests(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under root, whatever its name or place.

    Symlinked files count by their content: Bazel's sandbox presents every
    input as a symlink.
    """
    paths = [Path(directory) / name for directory, _, files in os.walk(root) for name in files]

    def digest(path: Path) -> str:
        return _sha256(path) if path.exists() else "dangling symlink"

    # hashlib lets go of the GIL on large reads: one thread per core.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        found = pool.map(digest, paths)
    return {path.relative_to(root).as_posix(): d for path, d in zip(paths, found, strict=True)}


def tree_stats(root: Path) -> dict[str, str]:
    """relative path -> "size mtime_ns" of every file under root."""
    stats = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            status = path.lstat()
            stats[path.relative_to(root).as_posix()] = f"{status.st_size} {status.st_mtime_ns}"
    return stats


def write_stat_index(root: Path, index: Path) -> None:
    lines = (f"{stat}  {name}\n" for name, stat in sorted(tree_stats(root).items()))
    index.write_text("".join(lines))


def write_manifest(root: Path, manifest: Path) -> None:
    lines = (f"{digest}  {name}\n" for name, digest in sorted(tree_digests(root).items()))
    manifest.write_text("".join(lines))


def read_manifest(manifest: Path) -> dict[str, str]:
    """The manifest or the stat index as {relative path: digest or stat}."""
    entries = {}
    for line in manifest.read_text().splitlines():
        digest, name = line.split("  ", 1)
        entries[name] = digest
    return entries


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """'changed: x', 'added: y', 'missing: z' for every file that differs."""
    found = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            found.append(f"missing: {name}")
        elif name not in expected:
            found.append(f"added: {name}")
        elif expected[name] != actual[name]:
            found.append(f"changed: {name}")
    return found


def verify(root: Path, manifest: Path) -> list[str]:
    """How the tree at root differs from its manifest; empty if it does not."""
    return differences(read_manifest(manifest), tree_digests(root))


def describe(found: list[str]) -> str:
    listed = "\n".join(f"  {line}" for line in found[:_MAX_LISTED])
    more = len(found) - _MAX_LISTED
    return listed + (f"\n  ... and {more} more" if more > 0 else "")


def _copy_interpreter(env: Path) -> None:
    prefix = Path(sys.base_prefix)
    binary, *libraries = _interpreter_files()
    (env / "bin").mkdir(parents=True)
    shutil.copy2(binary, env / "bin" / _PYTHON)
    (env / "lib").mkdir()
    for library in libraries:
        shutil.copy2(library, env / "lib" / library.name)
    shutil.copytree(
        prefix / _STDLIB,
        env / _STDLIB,
        symlinks=True,
        ignore=lambda _, names: [n for n in names if _UNUSED_STDLIB.fullmatch(n)],
    )
    (env / _SITE_PACKAGES).mkdir()
    launcher = env / "bin" / "python3"
    launcher.write_text(_LAUNCHER.format(python=_PYTHON))
    launcher.chmod(0o755)


def _bundled_pip(env: Path) -> Path:
    wheels = sorted((env / _STDLIB / "ensurepip" / "_bundled").glob("pip-*.whl"))
    if not wheels:
        raise SetupError(
            f"{sys.executable} has no ensurepip wheel of pip: install a complete "
            "CPython (pyenv, python.org or python-build-standalone)."
        )
    return wheels[-1]


def _fetch_uv(env: Path, index_url: str, into: Path) -> Path:
    """uv's binary, downloaded by the bundled pip and checked against INSTALLER_LOCK."""
    # --isolated ignores PIP_* variables and pip.conf files, as uv's
    # --no-config below ignores uv's.
    subprocess.run(
        [
            str(env / "bin" / "python3"),
            "-I",
            str(_bundled_pip(env) / "pip"),
            "download",
            "--quiet",
            "--isolated",
            "--no-input",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "--index-url",
            index_url,
            "--dest",
            str(into),
            "--requirement",
            str(Path(__file__).with_name(INSTALLER_LOCK)),
        ],
        check=True,
    )
    (wheel,) = into.glob("uv-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (member,) = (n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
        binary = into / "uv"
        binary.write_bytes(archive.read(member))
    binary.chmod(0o755)
    return binary


def _install(env: Path, requirements: Path, index_url: str) -> None:
    # uv, not pip: it downloads and unpacks in parallel, 7 s for this lock
    # where pip took 24 s, and 2.5 s from its warm download cache, which pip's
    # cannot be where a proxy strips PyPI's caching headers.
    with tempfile.TemporaryDirectory(prefix="rules_tfjs_uv.") as tools:
        uv = _fetch_uv(env, index_url, Path(tools))
        # No UV_* variable (extra indexes, find-links, overrides) changes what
        # is installed.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--no-config",
                "--quiet",
                "--python",
                str(env / "bin" / "python3"),
                # The copy is an interpreter, not a venv; it is ours to install into.
                "--break-system-packages",
                "--require-hashes",
                # The lock lists every package to install, and leaves out some of
                # their declared dependencies on purpose (requirements_overrides.txt).
                "--no-deps",
                "--only-binary",
                ":all:",
                # Links into uv's cache: nothing is written, and deleting the
                # files dropped below frees no blocks (on a disk mounted with
                # `discard`, freeing 8,500 headers' blocks took 10 s). Every
                # later change writes a new file in place of the link.
                "--link-mode",
                "hardlink",
                "--index-url",
                index_url,
                "--requirement",
                str(requirements),
            ],
            check=True,
            env=environment,
        )


def _drop_console_scripts(env: Path) -> None:
    for entry in (env / "bin").iterdir():
        if entry.name not in ("python3", _PYTHON):
            entry.unlink()
    for record in (env / _SITE_PACKAGES).glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not _RECORD_SCRIPT_LINE.match(line)]
        if kept != lines:
            _replace(record, "".join(kept).encode())


def _replace(path: Path, content: bytes) -> None:
    """Writes a new file in path's place: the old one may be a hard link into uv's cache."""
    replacement = path.with_name(f".{path.name}.new")
    replacement.write_bytes(content)
    os.replace(replacement, path)


def _drop_build_only_files(site_packages: Path) -> None:
    for header_dir in _HEADER_DIRS:
        shutil.rmtree(site_packages / header_dir, ignore_errors=True)
    for directory, _, files in os.walk(site_packages):
        for name in files:
            if os.path.splitext(name)[1] in _BUILD_ONLY_SUFFIXES:
                os.unlink(os.path.join(directory, name))


def _compile(directory: Path) -> None:
    # A few packages ship modules that do not compile (Python 2 fixtures);
    # they stay uncompiled, as pip would leave them.
    compileall.compile_dir(
        str(directory),
        quiet=2,
        workers=os.cpu_count() or 1,
        stripdir=str(directory),
        rx=re.compile(r"/site-packages/") if directory.name != "site-packages" else None,
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    _replace_sources_with_byte_code(directory)


def _replace_sources_with_byte_code(directory: Path) -> None:
    """x.py and __pycache__/x.TAG.pyc become x.pyc, which Python imports as it is."""
    suffix = f".{sys.implementation.cache_tag}.pyc"
    for cache in sorted(directory.rglob("__pycache__")):
        for compiled in sorted(cache.iterdir()):
            module = compiled.name.removesuffix(suffix)
            source = (cache.parent / f"{module}.py").relative_to(directory).as_posix()
            if source in KEPT_SOURCES:
                continue
            compiled.rename(cache.parent / f"{module}.pyc")
            (cache.parent / f"{module}.py").unlink()
        if not any(cache.iterdir()):
            cache.rmdir()


def _beside_this_script():
    # Imported here, not at the top: the check action runs this script alone,
    # and -I leaves its directory off sys.path.
    sys.path.insert(0, str(Path(__file__).parent))
    import elf_symbols
    import module_bundle

    return elf_symbols, module_bundle


def _strip_symbol_tables(env: Path) -> None:
    elf_symbols, _ = _beside_this_script()
    elf_symbols.strip_tree(env)


def _add_bundle_hook(site_packages: Path) -> None:
    """module_bundle as a top-level module, compiled with the rest of site-packages."""
    _, module_bundle = _beside_this_script()
    shutil.copyfile(module_bundle.__file__, site_packages / f"{module_bundle.BUNDLE_MODULE}.py")


def _bundle_byte_code(env: Path) -> None:
    """Byte code into one file (module_bundle), imported through a hook a .pth installs."""
    _, module_bundle = _beside_this_script()
    # The environment's own interpreter packs: it knows which modules it
    # imports before any .pth runs, and they must stay files.
    subprocess.run(
        [
            str(env / "bin" / "python3"),
            "-I",
            "-B",
            "-c",
            f"import {module_bundle.BUNDLE_MODULE} as bundle; bundle.pack_this_environment()",
        ],
        check=True,
    )
    (env / _SITE_PACKAGES / module_bundle.PTH).write_text(
        f"import {module_bundle.BUNDLE_MODULE}; {module_bundle.BUNDLE_MODULE}.install()\n"
    )


def create(env: Path, requirements: Path, index_url: str) -> None:
    _copy_interpreter(env)
    _compile(env / _STDLIB)
    _install(env, requirements, index_url)
    _drop_console_scripts(env)
    _drop_build_only_files(env / _SITE_PACKAGES)
    _strip_symbol_tables(env)
    _add_bundle_hook(env / _SITE_PACKAGES)
    _compile(env / _SITE_PACKAGES)
    _bundle_byte_code(env)


def create_with_manifest(root: Path, requirements: Path, index_url: str) -> None:
    """root/env and, last, root/env.sha256: an entry with a manifest is complete."""
    create(root / ENVIRONMENT_DIR, requirements, index_url)
    write_manifest(root / ENVIRONMENT_DIR, root / MANIFEST)


def cached(cache: Path, requirements: Path, index_url: str) -> Path:
    """The checked cache entry for this lock file and interpreter, created if need be."""
    entry = cache / environment_key(requirements)
    if (entry / MANIFEST).is_file():
        found = changed_since_made(entry)
        if not found:
            return entry
        print(
            f"rules_tfjs: the cached environment {entry} differs from its manifest; "
            f"re-creating it:\n{describe(found)}",
            file=sys.stderr,
        )
        discarded = Path(tempfile.mkdtemp(prefix=".discarded-", dir=cache))
        entry.rename(discarded / entry.name)
        shutil.rmtree(discarded, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=cache))
    try:
        create_with_manifest(staging, requirements, index_url)
        write_stat_index(staging / ENVIRONMENT_DIR, staging / STAT_INDEX)
        try:
            staging.rename(entry)
        except OSError:
            if not (entry / MANIFEST).is_file():
                raise  # not another process finishing first: a real error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entry


def changed_since_made(entry: Path) -> list[str]:
    """How a cache entry's files differ in size or time from when it was made."""
    if not (entry / STAT_INDEX).is_file():
        return verify(entry / ENVIRONMENT_DIR, entry / MANIFEST)
    return differences(read_manifest(entry / STAT_INDEX), tree_stats(entry / ENVIRONMENT_DIR))


def link_tree(source: Path, destination: Path) -> None:
    """Recreates source at destination with hard links (copies across devices)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        source,
        destination,
        symlinks=True,
        copy_function=link,
        dirs_exist_ok=True,
        ignore=lambda directory, _: [STAT_INDEX] if Path(directory) == source else [],
    )


def _check(manifest: Path, stamp: Path) -> int:
    """The toolchain's TfjsCheckEnvironment action: the tree must match its manifest.

    A validation action, run beside the conversion it guards: it hashes at the
    lowest priority, on the cores the conversion leaves idle.
    """
    os.nice(19)
    found = verify(manifest.parent / ENVIRONMENT_DIR, manifest)
    if found:
        print(
            "rules_tfjs: the converter environment differs from the manifest written "
            f"when it was made ({MANIFEST}): it was changed after it was made, by hand "
            f"or by an install that did not finish.\n{describe(found)}\n"
            "Re-create it: run `bazel clean --expunge`, then build again. The "
            "environment's cache entry (in $RULES_TFJS_CACHE, default "
            "~/.cache/rules_tfjs/environments) is checked against the same manifest "
            "and re-created when it differs.",
            file=sys.stderr,
        )
        return 1
    stamp.write_text(f"{_sha256(manifest)}  {MANIFEST}\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create_parser = commands.add_parser("create", help="make the environment into --output")
    create_parser.add_argument("--requirements", required=True, type=Path)
    create_parser.add_argument("--index_url", required=True)
    create_parser.add_argument("--cache", type=Path, help="cache directory; none: no cache")
    create_parser.add_argument("--output", required=True, type=Path)
    check_parser = commands.add_parser("check", help="compare a tree with its manifest")
    check_parser.add_argument("--manifest", required=True, type=Path)
    check_parser.add_argument("--stamp", required=True, type=Path)
    args = parser.parse_args()
    if args.command == "check":
        return _check(args.manifest, args.stamp)
    try:
        if args.cache:
            link_tree(cached(args.cache, args.requirements, args.index_url), args.output)
        else:
            create_with_manifest(args.output, args.requirements, args.index_url)
    except subprocess.CalledProcessError as error:
        print(
            f"{' '.join([Path(error.cmd[0]).name, *error.cmd[1:5]])} ... failed with "
            f"exit status {error.returncode}",
            file=sys.stderr,
        )
        return 1
    except SetupError as error:
        print(f"rules_tfjs: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
