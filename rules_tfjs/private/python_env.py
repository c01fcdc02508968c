"""Creates rules_tfjs's Python environment from a hash-checked lock file.

Run by the `tfjs_python_environment` repository rule with the interpreter it
chose. Every byte of the environment must be the same on any machine that
installs the same lock file with the same interpreter, because its files are
inputs of cached actions, so after pip:

* pip's console scripts and the activate scripts hold the environment's
  absolute path, and pip itself is not part of the lock: they are removed;
* `pyvenv.cfg`'s `command` line holds the absolute path too: it is removed;
* `lib64` is a symlink to `lib` that would list every file twice: removed;
* TensorFlow's C++ headers (half of all files) are never read at run time,
  yet each would cost sandbox set-up time: removed;
* byte code is compiled once, with hash-based invalidation and paths relative
  to site-packages, so it depends neither on file times nor on where the
  environment lives; without it every action would recompile TensorFlow.

The result does not depend on its location either, so it is built once per
machine in a cache directory, keyed by the lock file, the interpreter and this
script, and hard-linked into each Bazel output base that asks for it.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_KEPT_BIN_ENTRIES = re.compile(r"python(\d+(\.\d+)?)?")
_UNUSED_DISTRIBUTIONS = ("pip",)
_HEADER_DIRS = ("tensorflow/include",)
_VENV = "venv"


def environment_key(requirements: Path) -> str:
    digest = hashlib.sha256()
    for part in (
        requirements.read_bytes(),
        Path(__file__).read_bytes(),
        sys.executable.encode(),
        sys.version.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def create(venv: Path, requirements: Path, index_url: str) -> None:
    subprocess.run([sys.executable, "-I", "-m", "venv", str(venv)], check=True)
    # --isolated ignores PIP_* variables and pip.conf files, so nothing on the
    # machine (find-links, extra indexes, constraints) changes what is installed.
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-I",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--isolated",
            "--no-input",
            "--disable-pip-version-check",
            "--require-hashes",
            # The lock lists every package to install, and leaves out some of
            # their declared dependencies on purpose (requirements_overrides.txt).
            "--no-deps",
            "--only-binary=:all:",
            "--no-compile",
            "--index-url",
            index_url,
            "--requirement",
            str(requirements),
        ],
        check=True,
    )
    finalize(venv)


def finalize(venv: Path) -> None:
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = venv / "lib" / python / "site-packages"
    for entry in (venv / "bin").iterdir():
        if not _KEPT_BIN_ENTRIES.fullmatch(entry.name):
            entry.unlink()
    for entry in site_packages.iterdir():
        if entry.name.split("-", 1)[0] in _UNUSED_DISTRIBUTIONS:
            shutil.rmtree(entry)
    for header_dir in _HEADER_DIRS:
        shutil.rmtree(site_packages / header_dir, ignore_errors=True)
    lib64 = venv / "lib64"
    if lib64.is_symlink():
        lib64.unlink()
    pyvenv_cfg = venv / "pyvenv.cfg"
    lines = pyvenv_cfg.read_text().splitlines(keepends=True)
    pyvenv_cfg.write_text("".join(line for line in lines if not line.startswith("command")))
    # A few packages ship modules that do not compile (Python 2 fixtures);
    # they stay uncompiled, as pip would leave them.
    compileall.compile_dir(
        str(site_packages),
        quiet=2,
        workers=os.cpu_count() or 1,
        stripdir=str(site_packages),
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def cached(cache: Path, requirements: Path, index_url: str) -> Path:
    """The cached environment for this lock file, created if need be."""
    entry = cache / environment_key(requirements)
    if not (entry / _VENV / "pyvenv.cfg").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=cache))
        try:
            create(staging / _VENV, requirements, index_url)
            try:
                staging.rename(entry)
            except OSError:
                if not (entry / _VENV / "pyvenv.cfg").is_file():
                    raise  # not another process finishing first: a real error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return entry / _VENV


def link_tree(source: Path, destination: Path) -> None:
    """Recreates source at destination with hard links (copies across devices)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, destination, symlinks=True, copy_function=link)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", required=True, type=Path)
    parser.add_argument("--index_url", required=True)
    parser.add_argument("--cache", type=Path, help="cache directory; none: no cache")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args()
    try:
        if args.cache:
            link_tree(cached(args.cache, args.requirements, args.index_url), args.output)
        else:
            create(args.output, args.requirements, args.index_url)
    except subprocess.CalledProcessError as error:
        print(
            f"{' '.join(error.cmd[:5])} ... failed with exit status {error.returncode}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
