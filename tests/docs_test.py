"""The README's rule tables are the .bzl docstrings (dev/gen_docs.py), and cannot drift."""

import re
import sys

from conftest import WORKSPACE

sys.path.insert(0, str(WORKSPACE / "dev"))
import gen_docs

README = (WORKSPACE / "README.md").read_text(encoding="utf-8")
PUBLIC = ("tfjs_model", "tfjs_model_test", "tfjs_model_server", "saved_model")


def test_every_public_rule_has_its_generated_attribute_table():
    for rule in PUBLIC:
        assert f"<!-- generated: attributes {rule} -->" in README, rule


def test_the_readme_is_what_the_docstrings_generate():
    assert gen_docs.generate(README, gen_docs.SOURCES) == README


def test_a_changed_docstring_changes_the_readme(tmp_path):
    sources = []
    for source in gen_docs.SOURCES:
        copy = tmp_path / source.name
        text = source.read_text(encoding="utf-8")
        if source.name == "tfjs_model.bzl":
            text, count = re.subn(r'"Largest size of one weight shard', '"Biggest shard', text)
            assert count == 1
        copy.write_text(text, encoding="utf-8")
        sources.append(copy)
    regenerated = gen_docs.generate(README, sources)
    assert regenerated != README
    assert "Biggest shard" in regenerated
