'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const { compareTensor, compareRun, formatRow } = require('./compare.js');

const tolerance = { atol: 1e-4, rtol: 1e-3 };
const tensor = (data, shape = [data.length], dtype = 'float32') => ({ dtype, shape, data });

test('values within atol + rtol * |expected| match', () => {
  const result = compareTensor(tensor([1.0005, -2e-5]), tensor([1.0, 0.0]), tolerance);
  assert.equal(result.ok, true);
  assert.ok(Math.abs(result.maxAbs - 5e-4) < 1e-12);
});

test('the worst element is reported by its index in the shape', () => {
  const result = compareTensor(tensor([0, 0, 0, 0, 0.5, 0], [2, 3]), tensor([0, 0, 0, 0, 0, 0], [2, 3]), tolerance);
  assert.equal(result.ok, false);
  assert.deepEqual(result.worst, { index: [1, 1], actual: 0.5, expected: 0 });
});

test('NaN matches NaN only, infinities match themselves only', () => {
  assert.equal(compareTensor(tensor(['NaN', 'Infinity']), tensor(['NaN', 'Infinity']), tolerance).ok, true);
  assert.equal(compareTensor(tensor([0]), tensor(['NaN']), tolerance).ok, false);
  assert.equal(compareTensor(tensor(['-Infinity']), tensor(['Infinity']), tolerance).ok, false);
});

test('bools match TF.js 0 and 1 by value', () => {
  const flags = (data) => tensor(data, [data.length], 'bool');
  assert.equal(compareTensor(flags([1, 0]), flags([true, false]), tolerance).ok, true);
  const result = compareTensor(flags([1, 1]), flags([true, false]), tolerance);
  assert.equal(result.ok, false);
  assert.deepEqual(result.worst, { index: [1], actual: 1, expected: 0 });
});

test('a shape or dtype mismatch fails outright', () => {
  const result = compareTensor(tensor([1, 2], [1, 2]), tensor([1, 2], [2, 1]), tolerance);
  assert.equal(result.ok, false);
  assert.match(result.problem, /TF.js gives float32 \[1,2\], TensorFlow float32 \[2,1\]/);
});

test('a sequence row keeps its worst step', () => {
  const reference = {
    signatures: {},
    sequences: { step: { steps: [{ y: tensor([1]) }, { y: tensor([2]) }, { y: tensor([3]) }] } },
  };
  const run = { signatures: {}, sequences: { step: [{ y: tensor([1]) }, { y: tensor([2.5]) }, { y: tensor([3]) }] }, errors: {} };
  const [row] = compareRun(run, reference, tolerance);
  assert.equal(row.ok, false);
  assert.equal(row.worst.step, 1);
  assert.match(formatRow('node wasm', row, tolerance), /^FAIL .*step×3 .*worst at step 1 \[0\]: TF.js 2.5, TensorFlow 2/);
});

test('a signature TF.js could not run is a failure', () => {
  const rows = compareRun({ signatures: {}, sequences: {}, errors: { filter: "Kernel 'RFFT' not registered" } }, { signatures: { filter: { outputs: {} } } }, tolerance);
  assert.equal(rows.length, 1);
  assert.match(formatRow('node wasm', rows[0], tolerance), /FAIL .*filter .*TF.js failed: Kernel 'RFFT' not registered/);
});

test('strings match only when equal; a mismatch names the first differing element', () => {
  const words = (data, shape = [data.length]) => tensor(data, shape, 'string');
  const same = compareRun(
    { signatures: { lookup: { word: words(['fox', 'the']) } }, sequences: {}, errors: {} },
    { signatures: { lookup: { outputs: { word: words(['fox', 'the']) } } } },
    tolerance,
  );
  assert.match(formatRow('node cpu', same[0], tolerance), /^ok   node cpu +lookup +word +2 strings equal$/);

  const result = compareTensor(words(['a', 'b', 'c', 'x'], [2, 2]), words(['a', 'b', 'y', 'z'], [2, 2]), tolerance);
  assert.equal(result.ok, false);
  assert.deepEqual(result.worst.index, [1, 0]);
  const [row] = compareRun(
    { signatures: { lookup: { word: words(['a', 'b', 'c', 'x'], [2, 2]) } }, sequences: {}, errors: {} },
    { signatures: { lookup: { outputs: { word: words(['a', 'b', 'y', 'z'], [2, 2]) } } } },
    tolerance,
  );
  assert.match(formatRow('node cpu', row, tolerance), /FAIL .*strings differ; first at \[1,0\]: TF.js "c", TensorFlow "y"$/);
});

test('an output whose every value is within atol of 0 passes with a note that it shows nothing', () => {
  const tiny = compareRun(
    { signatures: { s: { y: tensor([1e-14, -3e-15]), z: tensor([0.5, 0]) } } },
    { signatures: { s: { outputs: { y: tensor([2e-14, 0]), z: tensor([0.5, 0]) } } } },
    tolerance,
  );
  const [y, z] = tiny.map((row) => formatRow('node cpu', row, tolerance));
  assert.match(y, /^ok   node cpu .* y .*; note: every TensorFlow value is within atol \(0\.0001\) of 0/);
  assert.doesNotMatch(z, /note/);
});

test('NaN, infinities and empty outputs get no such note', () => {
  const rows = compareRun(
    { signatures: { s: { nan: tensor(['NaN']), inf: tensor([0, 'Infinity']), empty: tensor([], [0]) } } },
    { signatures: { s: { outputs: { nan: tensor(['NaN']), inf: tensor([0, 'Infinity']), empty: tensor([], [0]) } } } },
    tolerance,
  );
  for (const row of rows) assert.doesNotMatch(formatRow('node cpu', row, tolerance), /within atol/);
});

test('integers and bools must be equal, whatever the tolerance', () => {
  const ids = (data) => tensor(data, [data.length], 'int32');
  const result = compareTensor(ids([50331648, 7]), ids([50331652, 7]), tolerance);
  assert.equal(result.ok, false); // within rtol * 5e7 = 5e4 as floats
  const [row] = compareRun({ signatures: { s: { id: ids([50331648]) } } }, { signatures: { s: { outputs: { id: ids([50331652]) } } } }, tolerance);
  assert.match(formatRow('chromium webgl', row, tolerance), /worst at \[0\]: TF.js 50331648, TensorFlow 50331652 \(id must be equal: integers and bools\)$/);
  assert.equal(compareTensor(ids([3]), ids([3]), tolerance).ok, true);
});

test('an all-zero integer or bool output gets no note: it is compared exactly', () => {
  const [row] = compareRun(
    { signatures: { s: { flag: tensor([0, 0], [2], 'bool') } } },
    { signatures: { s: { outputs: { flag: tensor([false, false], [2], 'bool') } } } },
    tolerance,
  );
  assert.doesNotMatch(formatRow('node cpu', row, tolerance), /note/);
});

test('an empty output passes with a note that nothing was compared', () => {
  const empty = tensor([], [2, 0, 4]);
  const [row] = compareRun(
    { signatures: { s: { y: empty } }, sequences: {} },
    { signatures: { s: { outputs: { y: empty } } }, sequences: {} },
    tolerance,
  );
  assert.match(formatRow('node cpu', row, tolerance), /^ok .* empty \[2,0,4\]; note: TensorFlow's output has no values/);
  const words = tensor([], [0], 'string');
  assert.match(formatRow('node cpu', { output: 'w', signature: 's', ...compareTensor(words, words, tolerance) }, tolerance), /empty \[0\]; note/);
});

test('string sequences count their strings, and get no note', () => {
  const words = (data) => tensor(data, [data.length], 'string');
  const steps = [{ w: words(['a', 'b']) }, { w: words(['c']) }];
  const [row] = compareRun(
    { signatures: {}, sequences: { s: steps } },
    { signatures: {}, sequences: { s: { steps } } },
    tolerance,
  );
  assert.match(formatRow('node cpu', row, tolerance), /^ok .* 3 strings equal$/);
});
