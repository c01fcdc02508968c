'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const { junitXml } = require('./junit.js');

test('one test case per compared output; failures carry the comparison', () => {
  const xml = junitXml('//models:wake_tfjs_test', [
    { environment: 'node cpu', name: 'filter spectrum', ok: true, text: 'ok' },
    { environment: 'node wasm', name: 'detect score', ok: false, text: 'FAIL max abs 2e-1 < 1e-4 & "x"' },
  ]);
  assert.match(xml, /<testsuite name="\/\/models:wake_tfjs_test" tests="2" failures="1">/);
  assert.match(xml, /<testcase classname="node cpu" name="filter spectrum"\/>/);
  assert.match(xml, /<failure message="FAIL max abs 2e-1 &lt; 1e-4 &amp; &quot;x&quot;"\/>/);
});

test('the same cases give the same bytes', () => {
  const cases = [{ environment: 'node cpu', name: 'a b', ok: true, text: '' }];
  assert.equal(junitXml('//a:b', cases), junitXml('//a:b', cases));
});
