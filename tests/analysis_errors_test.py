"""Every analysis-time error is checked by an analysis test, all in one `bazel test`.

The cases live in tests/analysis/BUILD.bazel (each a target that must fail
analysis, and the message it must fail with).
"""

import re


def test_every_analysis_error_has_its_message(bazel):
    result = bazel("test", "//tests/analysis:analysis_errors", check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    executed = re.search(r"Executed (\d+) out of (\d+) tests?: (\d+) tests? pass", output)
    assert executed, output[-3000:]
    build_file = (bazel.workspace / "tests" / "analysis" / "BUILD.bazel").read_text()
    cases = re.findall(r'^ +":\w+": "', build_file, re.MULTILINE)
    assert int(executed.group(2)) == len(cases) > 20
