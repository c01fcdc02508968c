"""Every byte the demo and examples build is pinned, so a dependency change that alters them is seen."""

import json
from pathlib import Path

COMMITTED = Path(__file__).with_name("output_digests.json")


def test_outputs_match_the_committed_digests(main_outputs):
    committed = json.loads(COMMITTED.read_text())
    changed = sorted(
        name
        for name in committed.keys() | main_outputs.keys()
        if committed.get(name) != main_outputs.get(name)
    )
    assert not changed, (
        f"{len(changed)} output(s) differ from {COMMITTED.name}: {', '.join(changed)}. "
        "If the change is intended (a new lock file or converter option), replace "
        f"{COMMITTED.name} with:\n" + json.dumps(main_outputs, indent=2, sort_keys=True)
    )
