/**
 * The test's result as JUnit XML, one test case per compared output.
 *
 * Bazel reads $XML_OUTPUT_FILE after the test; when a test writes none,
 * Bazel runs a second spawn to make one from the log, and that spawn's
 * command holds the test's duration, so a test result served by a remote
 * cache would still run it. Writing the file here makes the cached test
 * action the whole result, and gives CI one case per environment, signature
 * and output.
 */
'use strict';

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}

/**
 * @param {string} label the test target's label
 * @param {{environment: string, name: string, ok: boolean, text: string}[]} cases
 * @returns {string} a JUnit XML document (no times: the same result, the same bytes)
 */
function junitXml(label, cases) {
  const failures = cases.filter((c) => !c.ok).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="${escapeXml(label)}" tests="${cases.length}" failures="${failures}">`,
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${escapeXml(c.environment)}" name="${escapeXml(c.name)}"`;
    if (c.ok) {
      lines.push(`${open}/>`);
    } else {
      lines.push(`${open}>`, `      <failure message="${escapeXml(c.text)}"/>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

module.exports = { junitXml };
