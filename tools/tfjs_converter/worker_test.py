"""A real worker process, spoken to in Bazel's protocol."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tfjs_converter.worker import PENDING_REQUEST_ENV, RESTARTED, SavedModelCache
from tfjs_converter.worker_protocol import (
    WorkRequest,
    WorkResponse,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    read_message,
    write_message,
)

MAIN = Path(__file__).with_name("__main__.py")


def _digests(directory: Path, salt: bytes = b"") -> dict[str, bytes]:
    return {str(p): salt + p.read_bytes()[:16] for p in directory.rglob("*") if p.is_file()}


def test_messages_survive_a_round_trip():
    request = WorkRequest(["convert", "--tags", "serve"], {"a/b": b"\x00\xff"}, 7, 1)
    assert decode_request(encode_request(request)) == request
    response = WorkResponse(1, "tfjs_converter: error: ünïcode", 7)
    assert decode_response(encode_response(response)) == response


def test_worker_serves_many_requests_and_survives_bad_ones(tiny_saved_model, tmp_path):
    worker = subprocess.Popen(
        [sys.executable, "-s", "-B", str(MAIN), "--persistent_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    inputs = _digests(tiny_saved_model)

    def ask(request_id, *arguments):
        request = WorkRequest(list(arguments), inputs, request_id)
        write_message(worker.stdin, encode_request(request))
        return decode_response(read_message(worker.stdout))

    try:
        convert = ["convert", "--saved_model_dir", str(tiny_saved_model)]
        first = ask(1, *convert, "--output", f"scale={tmp_path / 'a'}")
        wrong = ask(2, *convert, "--output", f"nope={tmp_path / 'b'}")
        usage = ask(3, "convert", "--saved_model_dir", str(tiny_saved_model))
        second = ask(4, *convert, "--output", f"mix={tmp_path / 'c'}")
    finally:
        worker.stdin.close()
        assert worker.wait(timeout=60) == 0

    assert (first.exit_code, first.output, first.request_id) == (0, "", 1)
    assert wrong.exit_code == 1
    assert "has no signature 'nope'; its signatures are: mix, scale" in wrong.output
    assert wrong.request_id == 2
    assert usage.exit_code == 2
    assert "the following arguments are required: --output" in usage.output
    assert second.exit_code == 0
    assert not (tmp_path / "b").exists()
    model = json.loads((tmp_path / "c" / "model.json").read_text())
    assert sorted(model["signature"]["outputs"]) == ["mixed", "total"]


def test_cache_loads_each_saved_model_once_and_keeps_only_the_newest(
    tiny_saved_model, loop_saved_model
):
    cache = SavedModelCache(capacity=1)
    tiny, loop = _digests(tiny_saved_model), _digests(loop_saved_model)

    first = cache.loader(tiny, tiny_saved_model)(tiny_saved_model, ["serve"])
    assert cache.loader(tiny, tiny_saved_model)(tiny_saved_model, ["serve"]) is first
    assert cache.loads == 1

    cache.loader(loop, loop_saved_model)(loop_saved_model, ["serve"])
    assert cache.loads == 2
    assert cache.loader(tiny, tiny_saved_model)(tiny_saved_model, ["serve"]) is not first  # evicted
    assert cache.loads == 3


def test_changed_files_in_the_same_directory_are_loaded_afresh(tiny_saved_model):
    cache = SavedModelCache()
    before = cache.loader(_digests(tiny_saved_model), tiny_saved_model)(tiny_saved_model, ["serve"])
    after = cache.loader(_digests(tiny_saved_model, b"rebuilt"), tiny_saved_model)(
        tiny_saved_model, ["serve"]
    )
    assert after is not before
    assert cache.loads == 2


def _environment(pid: int) -> dict[str, str]:
    """The environment a process's program was started with."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if entry)


def test_worker_restarts_itself_when_its_own_files_change(tiny_saved_model, tmp_path):
    (tmp_path / "tmp").mkdir()
    # Bazel 4.2 keeps a worker whose tool files changed; the digests it sends
    # for the converter's files show the change.
    # As Bazel starts it: without the variables the package and TensorFlow set,
    # and with a UTF-8 locale, which Python would otherwise set at start.
    environment = {
        "LC_CTYPE": "C.UTF-8",
        "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", ""),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-s", "-B", str(MAIN), "--persistent_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=MAIN.parent.parent,
        env=environment,
    )

    def ask(request_id, converter_digest, signature):
        inputs = {**_digests(tiny_saved_model), "tfjs_converter/report.py": converter_digest}
        arguments = ["convert", "--saved_model_dir", str(tiny_saved_model)]
        arguments += ["--output", f"{signature}={tmp_path / str(request_id)}"]
        write_message(worker.stdin, encode_request(WorkRequest(arguments, inputs, request_id)))
        return decode_response(read_message(worker.stdout))

    try:
        first = ask(1, b"old", "scale")
        changed = ask(2, b"new", "mix")
        restarted_with = _environment(worker.pid)
        same = ask(3, b"new", "scale")
    finally:
        worker.stdin.close()
        assert worker.wait(timeout=60) == 0

    assert (first.exit_code, first.output) == (0, "")
    assert (changed.exit_code, changed.request_id) == (0, 2)
    assert changed.output == RESTARTED
    assert (tmp_path / "2" / "model.json").is_file()
    # A fresh start: what the old code set in its environment is not carried over.
    assert restarted_with.pop(PENDING_REQUEST_ENV).startswith(str(tmp_path / "tmp"))
    assert restarted_with == environment
    assert (same.exit_code, same.output, same.request_id) == (0, "", 3)
    assert list((tmp_path / "tmp").iterdir()) == []  # the pending request's file is gone
