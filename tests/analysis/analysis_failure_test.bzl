"""`analysis_failure_test`: a target fails analysis, with the message a user needs.

This is the part of Bazel Skylib's `analysistest` that rules_tfjs's tests use
(Skylib cannot be downloaded where this repository is developed). The target
under test is analysed with `--allow_analysis_failures`, so its `fail()`
becomes an `AnalysisFailureInfo` instead of a build error, and every test of a
package runs in one `bazel test`.
"""

_allow_analysis_failures = analysis_test_transition(
    settings = {"//command_line_option:allow_analysis_failures": "True"},
)

def _analysis_failure_test_impl(ctx):
    target = ctx.attr.target_under_test[0]
    messages = []
    if AnalysisFailureInfo in target:
        messages = [cause.message for cause in target[AnalysisFailureInfo].causes.to_list()]
    if [m for m in messages if ctx.attr.expected_message in m]:
        problem = ""
    elif messages:
        problem = "{} failed analysis, but no message has\n  {}\nThe messages:\n  {}".format(
            ctx.attr.target_under_test[0].label,
            ctx.attr.expected_message,
            "\n  ".join(messages),
        )
    else:
        problem = "{} was analysed without error; expected a failure with\n  {}".format(
            ctx.attr.target_under_test[0].label,
            ctx.attr.expected_message,
        )

    return [AnalysisTestResultInfo(success = not problem, message = problem)]

analysis_failure_test = rule(
    implementation = _analysis_failure_test_impl,
    analysis_test = True,
    test = True,
    doc = "Passes when `target_under_test` fails analysis with a message containing `expected_message`.",
    attrs = {
        "target_under_test": attr.label(
            mandatory = True,
            cfg = _allow_analysis_failures,
            doc = "The target expected to fail analysis; tag it `manual`.",
        ),
        "expected_message": attr.string(
            mandatory = True,
            doc = "A part of the expected error message.",
        ),
    },
)

def analysis_failure_tests(name, cases):
    """One `analysis_failure_test` per case, and a test_suite `name` of them all.

    Args:
      name: name of the test_suite.
      cases: dict of target under test (a label) to its expected message.
    """
    tests = []
    for target, message in cases.items():
        test = "{}_{}".format(name, target.lstrip(":").replace("/", "_").replace(":", "_"))
        analysis_failure_test(
            name = test,
            target_under_test = target,
            expected_message = message,
        )
        tests.append(":" + test)
    native.test_suite(name = name, tests = tests)
