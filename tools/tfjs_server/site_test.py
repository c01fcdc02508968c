"""The table of served files: what a URL may reach, however it is spelled."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tfjs_server.site import INDEX_PATH, SiteError, load_site

SECRET = b"outside the root\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """runfiles/ with a page, a model directory and tricks; secret.txt beside it."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    runfiles = tmp_path / "runfiles"
    model = runfiles / "ws" / "m" / "sig"
    model.mkdir(parents=True)
    (model / "model.json").write_text('{"format": "graph-model"}')
    (model / "group1-shard1of1.bin").write_bytes(b"\x00\x01")
    (model / "escape.bin").symlink_to(tmp_path / "secret.txt")
    (model / "escape_dir").symlink_to(tmp_path)
    (model / "inside.bin").symlink_to("group1-shard1of1.bin")
    (runfiles / "ws" / "page.html").write_text("<!doctype html>")
    (runfiles / "ws" / "tf.wasm").write_bytes(b"\x00asm")
    return runfiles


def _manifest(**overrides):
    manifest = {
        "title": "//m:model",
        "files": {"/": "ws/page.html", "/tfjs/tf.wasm": "ws/tf.wasm"},
        "directories": {"/models/sig/": "ws/m/sig"},
        "signatures": {"sig": "/models/sig/model.json"},
        "scripts": [],
    }
    manifest.update(overrides)
    return manifest


def _site(tree: Path, **overrides):
    def locate(runfile: str) -> str | None:
        return str(tree / runfile)

    return load_site(_manifest(**overrides), locate)


def test_given_files_and_model_files_are_served_with_their_content_types(tree):
    site = _site(tree)
    assert site.lookup("/") == ("text/html; charset=utf-8", (tree / "ws/page.html").resolve())
    assert site.lookup("/tfjs/tf.wasm")[0] == "application/wasm"
    assert site.lookup("/models/sig/model.json")[0] == "application/json"
    assert site.lookup("/models/sig/group1-shard1of1.bin")[0] == "application/octet-stream"
    # Query strings and percent-encoding of ordinary characters are fine.
    assert site.lookup("/models/sig/model.json?v=2")[0] == "application/json"
    assert site.lookup("/models/sig/model%2Ejson")[0] == "application/json"
    # A symlink that stays inside the directory is served.
    assert site.lookup("/models/sig/inside.bin")[1].read_bytes() == b"\x00\x01"


def test_the_index_lists_the_signatures(tree):
    content_type, body = _site(tree).lookup(INDEX_PATH)
    assert content_type == "application/json"
    assert json.loads(body) == {
        "title": "//m:model",
        "signatures": {"sig": "/models/sig/model.json"},
        "scripts": [],
    }


@pytest.mark.parametrize(
    "target",
    [
        "/models/sig/../../../../secret.txt",
        "/models/sig/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/models/sig/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/models/sig/..%2f..%2f..%2f..%2fsecret.txt",
        "/models/sig/..%5c..%5c..%5c..%5csecret.txt",
        "/models/sig/%252e%252e/secret.txt",
        "/models/./sig/model.json",
        "//models/sig/model.json",
        "/models//sig/model.json",
        "/models/sig/model.json%00.html",
        "http://127.0.0.1/models/sig/model.json",
        "models/sig/model.json",
        "*",
        "/etc/passwd",
        "//etc/passwd",
        "/models/sig/escape.bin",
        "/models/sig/escape_dir/secret.txt",
        "/models/sig/",
        "/models/sig",
        "/runfiles/ws/page.html",
        "/models/sig/%ff",
    ],
)
def test_nothing_outside_the_table_is_reachable(tree, target):
    assert _site(tree).lookup(target) is None


def test_a_symlink_out_of_a_served_directory_is_left_out_of_the_table(tree):
    files = _site(tree).table("/models/sig/")
    assert sorted(files) == [
        "/",
        "/models/sig/group1-shard1of1.bin",
        "/models/sig/inside.bin",
        "/models/sig/model.json",
        "/tfjs/tf.wasm",
    ]
    assert all(path.read_bytes() != SECRET for path in files.values())


def test_a_missing_runfile_says_how_to_start_the_server(tree):
    with pytest.raises(
        SiteError, match=r"ws/gone.js is not in the runfiles: run the server with `bazel run`"
    ):
        _site(tree, files={"/gone.js": "ws/gone.js"})


def test_a_signature_without_model_json_is_an_error(tree):
    os.remove(tree / "ws/m/sig/model.json")
    with pytest.raises(SiteError, match=r"signature sig: /models/sig/model.json is missing"):
        _site(tree)


def test_a_rebuild_that_changes_the_shards_shows_without_a_restart(tree):
    site = _site(tree)
    model = tree / "ws/m/sig"
    os.remove(model / "group1-shard1of1.bin")
    (model / "group1-shard1of2.bin").write_bytes(b"\x02")
    (model / "group1-shard2of2.bin").write_bytes(b"\x03")

    assert site.lookup("/models/sig/group1-shard1of1.bin") is None
    for name, content in (("group1-shard1of2.bin", b"\x02"), ("group1-shard2of2.bin", b"\x03")):
        content_type, file = site.lookup(f"/models/sig/{name}")
        assert (content_type, file.read_bytes()) == ("application/octet-stream", content)
    # Still nothing outside the directory, however the new files are reached.
    assert site.lookup("/models/sig/escape.bin") is None
    assert site.lookup("/models/sig/..%2fgroup1-shard1of2.bin") is None


def test_the_page_gives_string_inputs_the_reference_s_fixed_words():
    import re

    from tfjs_converter.reference import FIXED_WORDS

    page = (Path(__file__).with_name("page.js")).read_text()
    (listed,) = re.findall(r"const FIXED_WORDS = \[([^\]]*)\];", page)
    assert re.findall(r"'([^']*)'", listed) == list(FIXED_WORDS)
