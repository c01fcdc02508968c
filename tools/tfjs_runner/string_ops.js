// Which graph ops TF.js runs on string tensors, measured on the Node backends
// (cpu, wasm) of the locked packages: part of tfjs_kernels.json (see
// kernel_registry.js). A backend's kernel registry says nothing about dtypes,
// and strings fail in two ways:
// - tfjs-core's op function refuses them before any backend runs (`Argument
//   'x' passed to 'transpose' must be numeric tensor, but got string tensor`):
//   no backend runs the op on strings;
// - a backend's kernel aborts (wasm's Tile: `Aborted()`), refuses the dtype
//   (wasm's Fill: `Unknown dtype string`) or computes wrong values without an
//   error (wasm's Equal gave [112, 99, 0, ...] for [false, true, ...]).
// Each probe runs the tfjs-core op function the graph executor calls for its
// op on a [2, 3] string tensor and compares the result with the right one.
'use strict';

const path = require('path');

const WORDS = [['a', 'b', 'c'], ['d', 'b', 'f']];

// [graph op or ops (the names the graph executor maps to one op function),
//  (tf, words) => tensor, the right values].
const PROBES = [
  ['ConcatV2', (tf, t) => tf.concat([t, t], 1), ['a', 'b', 'c', 'a', 'b', 'c', 'd', 'b', 'f', 'd', 'b', 'f']],
  ['Reshape', (tf, t) => tf.reshape(t, [3, 2]), ['a', 'b', 'c', 'd', 'b', 'f']],
  ['ExpandDims', (tf, t) => tf.expandDims(t, 0), ['a', 'b', 'c', 'd', 'b', 'f']],
  ['Squeeze', (tf, t) => tf.squeeze(tf.reshape(t, [1, 2, 3])), ['a', 'b', 'c', 'd', 'b', 'f']],
  ['Slice', (tf, t) => tf.slice(t, [0, 1], [2, 2]), ['b', 'c', 'b', 'f']],
  ['StridedSlice', (tf, t) => tf.stridedSlice(t, [0, 0], [2, 3], [1, 2]), ['a', 'c', 'd', 'f']],
  ['Pack', (tf, t) => tf.stack([t, t]), [...WORDS.flat(), ...WORDS.flat()]],
  ['Unpack', (tf, t) => tf.unstack(t)[1], ['d', 'b', 'f']],
  ['Unique', (tf, t) => tf.unique(tf.reshape(t, [6])).values, ['a', 'b', 'c', 'd', 'f']],
  ['Tile', (tf, t) => tf.tile(t, [1, 2]), ['a', 'b', 'c', 'a', 'b', 'c', 'd', 'b', 'f', 'd', 'b', 'f']],
  ['GatherNd', (tf, t) => tf.gatherND(t, tf.tensor2d([[1, 2]], [1, 2], 'int32')), ['f']],
  [['GatherV2', 'Gather'], (tf, t) => tf.gather(t, tf.tensor1d([1], 'int32')), ['d', 'b', 'f']],
  ['Fill', (tf) => tf.fill([2], 'x', 'string'), ['x', 'x']],
  ['Equal', (tf, t) => tf.equal(t, tf.scalar('b')), [0, 1, 0, 0, 1, 0]],
  ['NotEqual', (tf, t) => tf.notEqual(t, tf.scalar('b')), [1, 0, 1, 1, 0, 1]],
  [['SelectV2', 'Select'], (tf, t) => tf.where(tf.tensor2d([[1, 0, 0], [0, 1, 0]], [2, 3], 'bool'), t, tf.tensor2d([['u', 'v', 'w'], ['x', 'y', 'z']], [2, 3], 'string')), ['a', 'v', 'w', 'x', 'b', 'z']],
  ['Transpose', (tf, t) => tf.transpose(t), ['a', 'd', 'b', 'b', 'c', 'f']],
  ['ReverseV2', (tf, t) => tf.reverse(t, [1]), ['c', 'b', 'a', 'f', 'b', 'd']],
  [['PadV2', 'Pad'], (tf, t) => tf.pad(tf.slice(t, [0, 0], [1, 1]), [[0, 0], [1, 0]], 'x'), ['x', 'a']],
  ['MirrorPad', (tf, t) => tf.mirrorPad(tf.slice(t, [0, 0], [1, 2]), [[0, 0], [1, 0]], 'reflect'), ['b', 'a', 'b']],
  ['BroadcastTo', (tf, t) => tf.broadcastTo(tf.slice(t, [0, 0], [1, 2]), [2, 2]), ['a', 'b', 'a', 'b']],
  [['SplitV', 'Split'], (tf, t) => tf.split(t, 3, 1)[2], ['c', 'f']],
  ['SparseToDense', (tf) => tf.sparseToDense(tf.tensor2d([[0, 1]], [1, 2], 'int32'), tf.tensor1d(['z'], 'string'), [1, 2], tf.scalar('', 'string')), ['', 'z']],
  ['ZerosLike', (tf, t) => tf.zerosLike(t), ['', '', '', '', '', '']],
  ['OnesLike', (tf, t) => tf.onesLike(t), ['1', '1', '1', '1', '1', '1']],
];

const REFUSED_BY_CORE = /must be numeric tensor, but got string tensor/;

/** Runs every probe on one backend: {op: null (right), 'core' or the failure}. */
async function probeBackend(tf, backend) {
  await tf.setBackend(backend);
  await tf.ready();
  const outcomes = {};
  for (const [ops, probe, right] of PROBES) {
    const words = tf.tensor2d(WORDS, [2, 3], 'string');
    let outcome;
    try {
      const values = Array.from(await probe(tf, words).data());
      outcome = JSON.stringify(values) === JSON.stringify(right) ? null : `gives ${JSON.stringify(values)}`;
    } catch (error) {
      const message = String((error && error.message) || error);
      outcome = REFUSED_BY_CORE.test(message) ? 'core' : message;
    } finally {
      words.dispose();
    }
    for (const op of [ops].flat()) outcomes[op] = outcome;
  }
  return outcomes;
}

/**
 * {measured_on, probed, refused_by_core, fail_on: {backend: [op]}}: ops no
 * backend runs on strings, and those a measured backend's kernel fails.
 */
async function stringOps(tf) {
  const wasmDirectory = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  require('@tensorflow/tfjs-backend-wasm').setWasmPaths(wasmDirectory + path.sep);
  const measuredOn = ['cpu', 'wasm'];
  const outcomes = {};
  for (const backend of measuredOn) outcomes[backend] = await probeBackend(tf, backend);
  const probed = PROBES.flatMap(([ops]) => [ops].flat()).sort();
  const refusedByCore = probed.filter((op) => measuredOn.every((b) => outcomes[b][op] === 'core'));
  const failOn = {};
  for (const backend of measuredOn) {
    failOn[backend] = probed.filter((op) => outcomes[backend][op] !== null && !refusedByCore.includes(op));
  }
  return { measured_on: measuredOn, probed, refused_by_core: refusedByCore, fail_on: failOn };
}

module.exports = { stringOps };
