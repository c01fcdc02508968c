"""Runs a user's SavedModel export script and makes its output reproducible."""

from __future__ import annotations

import hashlib
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

from tfjs_converter.errors import ConversionError
from tfjs_converter.saved_model import SAVED_MODEL_FILE

FINGERPRINT_FILE = "fingerprint.pb"


def export_saved_model(
    script: str | Path, output_dir: str | Path, script_args: Sequence[str] = ()
) -> None:
    """Runs script as `__main__` with sys.argv = [script, output_dir, *script_args].

    The script must write a SavedModel into output_dir. Its fingerprint's
    random UUID is then replaced by one derived from the SavedModel's content,
    so that exporting the same model twice gives the same bytes.
    """
    script, output_dir = Path(script), Path(output_dir)
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [str(script), str(output_dir), *script_args]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_request:
        if exit_request.code not in (None, 0):
            raise ConversionError(f"{script} exited with status {exit_request.code}") from None
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if not (output_dir / SAVED_MODEL_FILE).is_file():
        raise ConversionError(
            f"{script} wrote no {SAVED_MODEL_FILE} into {output_dir}: an export "
            "script must save its model into the directory given as sys.argv[1], "
            "for example tf.saved_model.save(module, sys.argv[1], signatures=...)"
        )
    normalize_fingerprint(output_dir)


def normalize_fingerprint(saved_model_dir: Path) -> None:
    """Replaces fingerprint.pb's random UUID with a hash of the fingerprint."""
    from tensorflow.core.protobuf import fingerprint_pb2

    path = saved_model_dir / FINGERPRINT_FILE
    if not path.is_file():
        return
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(path.read_bytes())
    fingerprint.ClearField("uuid")
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).digest()
    fingerprint.uuid = str(int.from_bytes(digest[:8], "big"))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))
