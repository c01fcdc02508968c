#!/usr/bin/env node
/**
 * The program behind tfjs_model_test: runs converted models in TF.js, in Node
 * and optionally in headless Chromium, and compares every output with what
 * TensorFlow computed from the SavedModel (the TfjsReference action).
 *
 *   node tfjs_model_test.js CONFIG.json
 *
 * CONFIG: {"label", "models": {"<signature>": "<model dir>"}, "reference":
 * "<reference.json>", "backends": [...], "browser": bool, "atol", "rtol"}.
 * Paths are relative to the working directory: the test's runfiles.
 * Exit status 0 when every output of every run matches, 1 otherwise.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { compareRun, formatRow, rowSignature } = require('./compare.js');
const { junitXml } = require('./junit.js');
const { runJob, failedJob, requireBackend, EXECUTE_ASYNC_ADVISORY } = require('./run_models.js');

const NODE_BACKENDS = ['cpu', 'wasm'];

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** Reads model.json and its shards from disk: no HTTP, no tfjs-node. */
function fileLoader(tf, directory) {
  return {
    async load() {
      const modelJson = JSON.parse(await fs.promises.readFile(path.join(directory, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = [];
        const shards = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const shard of group.paths) {
            const bytes = await fs.promises.readFile(path.join(directory, shard));
            // A Buffer may view a shared pool: hand over just this file.
            shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, shards];
      });
    },
  };
}

async function runInNode(job, models, backends) {
  const tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  // Quiet: tfjs's "install the node backend" banner and its per-call
  // executeAsync advisory would bury the comparison.
  tf.enableProdMode();
  const warn = console.warn;
  console.warn = (...args) => {
    if (!(typeof args[0] === 'string' && args[0].startsWith(EXECUTE_ASYNC_ADVISORY))) warn(...args);
  };
  // The path is joined to file names as a string: keep the trailing slash.
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  const runs = {};
  for (const backend of backends) {
    // A backend that does not start, or breaks past one signature, fails its
    // own rows; the other backends and the browser still run.
    try {
      await requireBackend(tf, backend);
      runs[backend] = await runJob(tf, job, (signature) => tf.loadGraphModel(fileLoader(tf, models[signature])));
    } catch (error) {
      runs[backend] = failedJob(job, (error && error.message) || String(error));
    }
  }
  return runs;
}

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const reference = JSON.parse(fs.readFileSync(config.reference, 'utf8'));
  const tolerance = { atol: Number(config.atol), rtol: Number(config.rtol) };
  const job = {
    signatures: Object.fromEntries(
      Object.entries(reference.signatures).map(([signature, run]) => [signature, { inputs: run.inputs }]),
    ),
    sequences: Object.fromEntries(
      Object.entries(reference.sequences).map(([signature, s]) => [signature, { feed: s.feed, frames: s.frames }]),
    ),
  };

  const runs = [];
  const started = Date.now();
  const nodeBackends = config.backends.filter((b) => NODE_BACKENDS.includes(b));
  for (const [backend, run] of Object.entries(await runInNode(job, config.models, nodeBackends))) {
    runs.push([`node ${backend}`, run]);
  }
  const nodeSeconds = (Date.now() - started) / 1000;
  let browserSeconds = 0;
  if (config.browser) {
    const { runInChromium } = require('./browser.js');
    const browserStarted = Date.now();
    const browserRuns = await runInChromium({
      models: config.models,
      job,
      backends: config.backends,
      log,
    });
    browserSeconds = (Date.now() - browserStarted) / 1000;
    for (const [backend, run] of Object.entries(browserRuns)) runs.push([`chromium ${backend}`, run]);
  }

  console.log(`${config.label}: TF.js against TensorFlow, allowed |difference| <= ${tolerance.atol} + ${tolerance.rtol}·|TensorFlow| (integers and bools: equal)`);
  const cases = [];
  for (const [environment, run] of runs) {
    for (const row of compareRun(run, reference, tolerance)) {
      const text = formatRow(environment, row, tolerance);
      console.log(text);
      cases.push({ environment, name: `${rowSignature(row)} ${row.output}`, ok: row.ok && !row.problem, text });
    }
  }
  const passed = cases.filter((c) => c.ok).length;
  const failed = cases.length - passed;
  if (process.env.XML_OUTPUT_FILE) fs.writeFileSync(process.env.XML_OUTPUT_FILE, junitXml(config.label, cases));
  console.log(`node ${nodeSeconds.toFixed(1)} s${config.browser ? `, chromium ${browserSeconds.toFixed(1)} s` : ''}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    log(`tfjs_model_test: ${error.stack || error}`);
    process.exit(1);
  },
);
