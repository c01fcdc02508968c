"""The converter environment: the same bytes wherever it is made, checked against its manifest."""

import json
import os
import subprocess
import sys

from conftest import WORKSPACE, environment_directory

sys.path.insert(0, str(WORKSPACE / "rules_tfjs" / "private"))
import elf_symbols
import module_bundle
import python_env

SITE_PACKAGES = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
BUNDLE = f"lib/{module_bundle.BUNDLE}"


def test_environments_made_on_two_machines_are_identical_trees(bazel, second_machine):
    # Another HOME (so another rules_tfjs cache), another interpreter prefix,
    # another checkout path and output base.
    here = environment_directory(bazel)
    there = environment_directory(second_machine.checkout("environment"))

    assert [p.name for p in second_machine.environment_cache.iterdir()], "not re-created"
    # Every file, whatever its name: the next path-dependent file cannot slip in.
    assert (
        python_env.differences(python_env.tree_digests(here), python_env.tree_digests(there)) == []
    )
    assert (here.parent / python_env.MANIFEST).read_bytes() == (
        there.parent / python_env.MANIFEST
    ).read_bytes()


def test_the_tree_comparison_names_a_planted_path_dependent_file(bazel, tmp_path):
    here = environment_directory(bazel)
    copy = tmp_path / "env"
    subprocess.run(["cp", "-al", str(here), str(copy)], check=True)
    # A new file, and a changed one (a new inode: the original stays as it is).
    (copy / SITE_PACKAGES / "planted.pth").write_text(f"{copy}\n")
    record = next((copy / SITE_PACKAGES).glob("six-*.dist-info/RECORD"))
    edited = record.with_name("RECORD.new")
    edited.write_text(record.read_text() + f"../../../bin/six,sha256={copy},1\n")
    os.replace(edited, record)

    found = python_env.differences(python_env.tree_digests(here), python_env.tree_digests(copy))

    assert found == [
        f"added: {SITE_PACKAGES}/planted.pth",
        f"changed: {record.relative_to(copy).as_posix()}",
    ]


def test_the_environment_holds_no_path_of_where_it_was_made(bazel):
    here = environment_directory(bazel)
    names = python_env.read_manifest(here.parent / python_env.MANIFEST)
    assert names == python_env.tree_digests(here)
    assert not (here / "pyvenv.cfg").exists()
    assert sorted(p.name for p in (here / "bin").iterdir()) == ["python3", "python3.11"]
    # Where it was made (a staging directory of the cache), where it is, and
    # where its interpreter came from, in what pip and compileall write.
    places = [b"/.creating-", b"rules_tfjs/environments", str(here.parent).encode(), b"/.pyenv/"]
    written = {n: (here / n).read_bytes() for n in names if n.endswith(("/RECORD", ".pyc"))}
    written |= module_bundle.read(str(here / BUNDLE))
    assert f"{SITE_PACKAGES}/six.pyc" in written
    for relative, data in written.items():
        # _sysconfigdata holds the interpreter's build configuration (its
        # build prefix among it): bytes of the build, the same in every copy.
        if "_sysconfigdata_" not in relative:
            assert not [p for p in places if p in data], relative


def test_a_changed_environment_file_fails_the_build_and_names_it(second_checkout):
    here = environment_directory(second_checkout)
    target = here / BUNDLE
    original = target.read_bytes()
    # Replaced, not written in place: the file is a hard link into the
    # machine's environment cache, which must stay intact.
    edited = target.with_name(f"{target.name}.edited")
    edited.write_bytes(original + b"# edited by hand\n")
    os.replace(edited, target)
    try:
        second_checkout.shutdown()  # a new server sees the change
        result = second_checkout("build", "//models:wake_tfjs", check=False)
    finally:
        edited.write_bytes(original)
        os.replace(edited, target)
        second_checkout.shutdown()

    assert result.returncode != 0
    assert "TfjsCheckEnvironment" in result.stderr or "differs from the manifest" in result.stderr
    assert f"changed: {BUNDLE}" in result.stderr
    assert "bazel clean --expunge" in result.stderr


def test_the_check_runs_beside_every_python_action_not_before_it(bazel):
    # A validation: an input of no action, in the `_validation` output group
    # of every rule that runs the interpreter (the build still fails on a
    # changed file: test_a_changed_environment_file_fails_the_build_and_names_it).
    result = bazel(
        "aquery",
        "mnemonic('TfjsConvert|TfjsSavedModel|TfjsReference', deps(//models:all))",
        "--output=jsonproto",
    )
    graph = json.loads(result.stdout)
    names = {a["id"]: a["pathFragmentId"] for a in graph["artifacts"]}
    fragments = {f["id"]: f["label"] for f in graph["pathFragments"]}
    depsets = {d["id"]: d for d in graph["depSetOfFiles"]}

    def basenames(depset_id: int) -> set[str]:
        depset = depsets[depset_id]
        found = {fragments[names[a]] for a in depset.get("directArtifactIds", [])}
        for nested in depset.get("transitiveDepSetIds", []):
            found |= basenames(nested)
        return found

    mnemonics = {a["mnemonic"] for a in graph["actions"]}
    inputs = set().union(*(basenames(d) for a in graph["actions"] for d in a["inputDepSetIds"]))
    assert mnemonics == {"TfjsConvert", "TfjsSavedModel", "TfjsReference"}
    assert "libtensorflow_cc.so.2" in inputs
    assert not [i for i in inputs if i.endswith("environment_checked")]

    # A label may be listed once per configuration the server has seen it in
    # (CI once listed one of them twice): every one must carry the check.
    validations = bazel(
        "cquery",
        "//models:wake + //models:wake_tfjs + //models:wake_tfjs_test",
        "--output=starlark",
        "--starlark:expr=str(target.label) + ' ' + str([f.basename for f in "
        'getattr(providers(target)["OutputGroupInfo"], "_validation").to_list()])',
    ).stdout.splitlines()
    assert {line.split(" ", 1)[0] for line in validations} == {
        "//models:wake",
        "//models:wake_tfjs",
        "//models:wake_tfjs_test",
    }, validations
    assert {line.split(" ", 1)[1] for line in validations} == {'["python.environment_checked"]'}


def test_bazel_sees_a_small_environment_of_byte_code(bazel):
    here = environment_directory(bazel)
    names = python_env.read_manifest(here.parent / python_env.MANIFEST)
    # Every file is a target Bazel loads and digests, and a symlink in each
    # sandbox (issue 12's targets: at most 6,000 files and 1.2e9 bytes).
    assert len(names) <= 1000
    assert sum((here / name).stat().st_size for name in names) <= 1.2e9
    # Byte code in place of its source, but for the sources read at run time.
    stdlib = SITE_PACKAGES.removesuffix("/site-packages")
    kept = sorted(
        f"{stdlib}/{k}" if k == "os.py" else f"{SITE_PACKAGES}/{k}" for k in python_env.KEPT_SOURCES
    )
    assert [n for n in names if n.endswith(".py")] == kept
    cached = [n.replace("/__pycache__", "") for n in names if "__pycache__" in n]
    tag = sys.implementation.cache_tag
    assert cached == [k.replace(".py", f".{tag}.pyc") for k in kept]
    # The rest of the byte code in one bundle, but what the interpreter
    # imports before the bundle's hook is installed: the standard streams'
    # codecs and a few modules of the standard library.
    bundled = module_bundle.read(str(here / BUNDLE))
    assert f"{SITE_PACKAGES}/six.pyc" in bundled
    assert f"{SITE_PACKAGES}/tensorflow/__init__.pyc" in bundled
    files = [n for n in names if n.endswith(".pyc") and "__pycache__" not in n]
    assert not set(files) & set(bundled)
    outside_codecs = [n for n in files if not n.startswith(f"{stdlib}/encodings/")]
    assert len(outside_codecs) < 30, outside_codecs
    assert not [n for n in names if n.endswith((".pyi", ".h", ".c"))]


def test_the_interpreter_starts_with_any_codec_for_its_streams(bazel):
    # The codecs of the standard streams are imported before the bundle's
    # hook: with a Latin-1 PYTHONIOENCODING, a bundled codec would stop the
    # interpreter before it runs a line.
    python = environment_directory(bazel) / "bin" / "python3"
    for encoding in ("latin-1", "cp1252", "utf-16"):
        result = subprocess.run(
            [str(python), "-s", "-B", "-c", "import sys, six; print(sys.stdout.encoding)"],
            env={"PYTHONIOENCODING": encoding},
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")


def test_the_environment_package_lists_the_files_of_its_manifest(bazel):
    here = environment_directory(bazel)
    # Listed, not globbed: a glob lists every directory of the environment
    # on every new Bazel server.
    assert "glob(" not in (here.parent / "BUILD.bazel").read_text()
    listed = bazel("query", "labels(files, @rules_tfjs_python//:python)").stdout.split()
    names = python_env.read_manifest(here.parent / python_env.MANIFEST)
    assert sorted(listed) == sorted(f"@rules_tfjs_python//:env/{name}" for name in names)


def test_shared_objects_have_no_symbol_tables_left(bazel):
    here = environment_directory(bazel)
    names = python_env.read_manifest(here.parent / python_env.MANIFEST)
    shared = [n for n in names if ".so" in n.rsplit("/", 1)[-1]]
    assert f"{SITE_PACKAGES}/tensorflow/libtensorflow_cc.so.2" in shared
    # What only debuggers read is gone from every ELF file: stripping again
    # finds nothing to drop. (TensorFlow's own copy carries 183 MB of it.)
    with_symbols = []
    for name in names:
        with (here / name).open("rb") as stream:
            if stream.read(4) == b"\x7fELF":
                stream.seek(0)
                if elf_symbols.stripped_chunks(stream.read()) is not None:
                    with_symbols.append(name)
    assert with_symbols == []


EXPORTS = """
import os
import sys

import keras
import tensorflow as tf


def double_if_positive(x):  # plain Python: AutoGraph converts it through its caller
    if tf.reduce_sum(x) > 0:
        return x * 2.0
    return x - 1.0


class Module(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def apply(self, x):
        return double_if_positive(x)


out = sys.argv[1]
module = Module()
tf.saved_model.save(
    module, os.path.join(out, "module"), signatures={"a": module.apply, "b": module.apply}
)
model = keras.Sequential(
    [keras.Input((3,)), keras.layers.Dense(2), keras.layers.Lambda(lambda t: t * 2)]
)
model.export(os.path.join(out, "export"), verbose=False)
tf.saved_model.save(model, os.path.join(out, "saved"))
signature = tf.saved_model.load(os.path.join(out, "module")).signatures["b"]
print(*(signature(x=tf.constant([v]))["output_0"].numpy() for v in (1.0, -1.0)))
"""


def test_autograph_converts_user_code_on_every_export_path_without_warnings(bazel, tmp_path):
    here = environment_directory(bazel)
    script = tmp_path / "export.py"
    script.write_text(EXPORTS)
    result = subprocess.run(
        [str(here / "bin" / "python3"), "-s", "-B", str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": os.environ["PATH"]},
    )
    assert result.stdout.split() == ["[2.]", "[-2.]"]
    # Byte code without source would make AutoGraph warn at import, or run
    # TensorFlow's and Keras's signature wrappers unconverted.
    assert "AutoGraph" not in result.stderr, result.stderr


def test_a_cache_entry_changed_after_it_was_made_is_found_by_size_or_time(tmp_path):
    entry = tmp_path / "entry"
    (entry / python_env.ENVIRONMENT_DIR / "lib").mkdir(parents=True)
    module = entry / python_env.ENVIRONMENT_DIR / "lib" / "a.pyc"
    module.write_bytes(b"one")
    python_env.write_manifest(entry / python_env.ENVIRONMENT_DIR, entry / python_env.MANIFEST)
    python_env.write_stat_index(entry / python_env.ENVIRONMENT_DIR, entry / python_env.STAT_INDEX)
    assert python_env.changed_since_made(entry) == []

    made = module.stat().st_mtime_ns
    module.write_bytes(b"two")  # same size, written later
    os.utime(module, ns=(made + 1_000_000, made + 1_000_000))
    (module.parent / "b.pyc").write_bytes(b"")
    assert python_env.changed_since_made(entry) == ["changed: lib/a.pyc", "added: lib/b.pyc"]


def test_verify_names_changed_and_added_files(tmp_path):
    entry = tmp_path / "entry"
    (entry / python_env.ENVIRONMENT_DIR / "lib").mkdir(parents=True)
    (entry / python_env.ENVIRONMENT_DIR / "lib" / "a.py").write_text("a = 1\n")
    python_env.write_manifest(entry / python_env.ENVIRONMENT_DIR, entry / python_env.MANIFEST)
    assert python_env.verify(entry / python_env.ENVIRONMENT_DIR, entry / python_env.MANIFEST) == []

    (entry / python_env.ENVIRONMENT_DIR / "lib" / "a.py").write_text("a = 2\n")
    (entry / python_env.ENVIRONMENT_DIR / "lib" / "b.py").write_text("")
    assert python_env.verify(entry / python_env.ENVIRONMENT_DIR, entry / python_env.MANIFEST) == [
        "changed: lib/a.py",
        "added: lib/b.py",
    ]


def test_dropping_console_scripts_never_writes_into_uv_s_cache(tmp_path):
    # uv installs hard links into its cache: an edit must replace the link.
    site_packages = tmp_path / "env" / SITE_PACKAGES
    record = site_packages / "tool-1.0.dist-info" / "RECORD"
    record.parent.mkdir(parents=True)
    (tmp_path / "env" / "bin").mkdir()
    (tmp_path / "env" / "bin" / "tool").write_text("#!/abs/path/python3\n")
    cached = tmp_path / "uv_cache_RECORD"
    cached.write_text("../../../bin/tool,sha256=x,20\ntool/__init__.py,sha256=y,0\n")
    os.link(cached, record)

    python_env._drop_console_scripts(tmp_path / "env")

    assert record.read_text() == "tool/__init__.py,sha256=y,0\n"
    assert cached.read_text() == "../../../bin/tool,sha256=x,20\ntool/__init__.py,sha256=y,0\n"
    assert list((tmp_path / "env" / "bin").iterdir()) == []
