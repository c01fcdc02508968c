/**
 * Compares TF.js outputs with TensorFlow's, element by element, the way
 * numpy.allclose does: an element matches when
 *   |tfjs - tensorflow| <= atol + rtol * |tensorflow|,
 * NaN matches NaN and an infinity matches the same infinity. Integers and
 * bools match only when equal (an id off by one is wrong, however large),
 * and so do strings; a string mismatch names the first differing element.
 */
'use strict';

// Dtypes compared for equality, not within a tolerance.
const EXACT_DTYPES = new Set(['int32', 'bool']);

// The reference writes NaN and infinities as strings and bools as JSON
// booleans; TF.js gives bools as 0 and 1.
function decode(x) {
  return typeof x === 'string' || typeof x === 'boolean' ? Number(x) : x;
}

function multiIndex(flat, shape) {
  const index = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index.unshift(flat % shape[axis]);
    flat = Math.floor(flat / shape[axis]);
  }
  return index;
}

/**
 * Returns {ok, maxAbs, maxRel, worst: {index, actual, expected}, problem}.
 * `problem` explains a dtype or shape mismatch, which fails outright.
 */
function compareTensor(actual, expected, { atol, rtol }) {
  // maxExpected: the largest |TensorFlow value|, NaN and infinities counting as infinite.
  // worstExcess: how far the worst element is past its tolerance.
  const result = { ok: true, maxAbs: 0, maxRel: 0, maxExpected: 0, values: 0, worst: null, worstExcess: -Infinity, problem: null };
  result.shape = expected.shape;
  if (actual.dtype !== expected.dtype || actual.shape.join(',') !== expected.shape.join(',')) {
    result.ok = false;
    result.problem = `TF.js gives ${actual.dtype} [${actual.shape}], TensorFlow ${expected.dtype} [${expected.shape}]`;
    return result;
  }
  if (expected.dtype === 'string') return compareStrings(actual, expected, result);
  const exact = EXACT_DTYPES.has(expected.dtype);
  result.exact = exact;
  for (let i = 0; i < expected.data.length; i++) {
    const a = decode(actual.data[i]);
    const e = decode(expected.data[i]);
    let difference;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      difference = Number.isNaN(e) && Number.isNaN(a) ? 0 : Infinity;
    } else if (!Number.isFinite(e) || !Number.isFinite(a)) {
      difference = a === e ? 0 : Infinity;
    } else {
      difference = Math.abs(a - e);
    }
    const allowed = exact ? 0 : atol + rtol * (Number.isFinite(e) ? Math.abs(e) : 0);
    result.maxExpected = Math.max(result.maxExpected, Number.isFinite(e) ? Math.abs(e) : Infinity);
    result.values += 1;
    result.maxAbs = Math.max(result.maxAbs, difference);
    if (e !== 0 && Number.isFinite(e)) result.maxRel = Math.max(result.maxRel, difference / Math.abs(e));
    if (difference > allowed) result.ok = false;
    // The worst element: the one furthest past its tolerance.
    if (difference - allowed > result.worstExcess) {
      result.worstExcess = difference - allowed;
      result.worst = { index: multiIndex(i, expected.shape), actual: a, expected: e };
    }
  }
  return result;
}

/** String tensors: equal element by element; `worst` is the first difference. */
function compareStrings(actual, expected, result) {
  result.strings = expected.data.length;
  result.values = expected.data.length;
  const i = expected.data.findIndex((value, j) => actual.data[j] !== value);
  if (i >= 0) {
    result.ok = false;
    result.maxAbs = Infinity;
    result.worstExcess = Infinity;
    result.worst = { index: multiIndex(i, expected.shape), actual: actual.data[i], expected: expected.data[i], first: true };
  }
  return result;
}

/**
 * Compares one run (an environment and backend) with the reference.
 * Returns rows {signature, output, steps, ok, maxAbs, maxRel, worst, problem}:
 * one per output of each signature, and one per output of each sequence,
 * taking its worst step.
 */
function compareRun(run, reference, tolerance) {
  const rows = [];
  for (const [signature, error] of Object.entries(run.errors || {})) {
    rows.push({ signature, output: '*', ok: false, problem: `TF.js failed: ${error}` });
  }
  for (const [signature, expected] of Object.entries(reference.signatures || {})) {
    const actual = run.signatures[signature];
    if (!actual) continue; // reported in errors
    for (const [output, tensor] of Object.entries(expected.outputs)) {
      if (!actual[output]) {
        rows.push({ signature, output, ok: false, problem: 'TF.js gave no such output' });
        continue;
      }
      rows.push({ signature, output, ...compareTensor(actual[output], tensor, tolerance) });
    }
  }
  for (const [signature, sequence] of Object.entries(reference.sequences || {})) {
    const actual = run.sequences[signature];
    if (!actual) continue;
    const outputs = Object.keys(sequence.steps[0] || {});
    for (const output of outputs) {
      const row = { signature, output, steps: sequence.steps.length, ok: true, maxAbs: 0, maxRel: 0, maxExpected: 0, values: 0, worst: null, problem: null };
      let worstExcess = -Infinity;
      sequence.steps.forEach((expectedStep, step) => {
        const tensor = actual[step] && actual[step][output];
        if (!tensor) {
          row.ok = false;
          row.problem = row.problem || `TF.js gave no ${output} at step ${step}`;
          return;
        }
        const c = compareTensor(tensor, expectedStep[output], tolerance);
        row.ok = row.ok && c.ok;
        row.problem = row.problem || (c.problem && `step ${step}: ${c.problem}`);
        row.maxAbs = Math.max(row.maxAbs, c.maxAbs);
        row.maxRel = Math.max(row.maxRel, c.maxRel);
        row.maxExpected = Math.max(row.maxExpected, c.maxExpected || 0);
        row.values += c.values || 0;
        if (c.strings !== undefined) row.strings = (row.strings || 0) + c.strings;
        row.exact = c.exact;
        if (c.worst && c.worstExcess > worstExcess) {
          worstExcess = c.worstExcess;
          row.worst = { ...c.worst, step };
        }
      });
      rows.push(row);
    }
  }
  return rows;
}

/** The signature a row compares, with its step count when run as a sequence: `encode×8`. */
function rowSignature(row) {
  return row.steps ? `${row.signature}×${row.steps}` : row.signature;
}

function formatRow(environment, row, tolerance) {
  const what = `${environment.padEnd(15)} ${rowSignature(row).padEnd(14)} ${row.output.padEnd(14)}`;
  if (row.problem) return `FAIL ${what} ${row.problem}`;
  const numbers = `max abs ${row.maxAbs.toExponential(1)}  max rel ${row.maxRel.toExponential(1)}`;
  if (row.ok && row.values === 0) {
    // Nothing was compared: any TF.js output of that shape would pass.
    const shape = row.shape ? ` [${row.shape}]` : '';
    return `ok   ${what} empty${shape}; note: TensorFlow's output has no values, so any TF.js output of its shape passes: give this signature inputs (attribute inputs) that make it non-empty`;
  }
  if (row.ok && row.strings !== undefined) return `ok   ${what} ${row.strings} strings equal`;
  if (row.ok && !row.exact && row.values > 0 && row.maxExpected <= tolerance.atol) {
    // Any TF.js output as small would pass: the comparison shows nothing.
    return `ok   ${what} ${numbers}; note: every TensorFlow value is within atol (${tolerance.atol}) of 0, so any output this small passes: test it on inputs that give larger values`;
  }
  if (row.ok) return `ok   ${what} ${numbers}`;
  const where = `${row.worst.step !== undefined ? `step ${row.worst.step} ` : ''}[${row.worst.index}]`;
  if (row.worst.first) {
    return `FAIL ${what} strings differ; first at ${where}: TF.js ${JSON.stringify(row.worst.actual)}, TensorFlow ${JSON.stringify(row.worst.expected)}`;
  }
  const allowed = row.exact ? `${row.output} must be equal: integers and bools` : `allowed ${tolerance.atol} + ${tolerance.rtol}·|TensorFlow|`;
  return `FAIL ${what} ${numbers}; worst at ${where}: TF.js ${row.worst.actual}, TensorFlow ${row.worst.expected} (${allowed})`;
}

module.exports = { compareTensor, compareRun, formatRow, rowSignature };
