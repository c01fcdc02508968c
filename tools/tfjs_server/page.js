/**
 * The dev server's page: lists each signature's inputs and outputs from its
 * model.json, then runs every signature on generated inputs on every TF.js
 * backend this browser can start, and shows outputs and timings.
 *
 * When done it sets window.tfjsServeResult = {runs, errors, backends}; a
 * failed run is also reported with console.error, so a headless check can
 * tell a clean page from a broken one.
 */
(function () {
  'use strict';

  const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'];
  const DTYPES = { DT_FLOAT: 'float32', DT_HALF: 'float32', DT_DOUBLE: 'float32', DT_INT32: 'int32', DT_INT64: 'int32', DT_INT16: 'int32', DT_INT8: 'int32', DT_UINT8: 'int32', DT_BOOL: 'bool' };
  // The words tfjs_model_test's reference gives string inputs of a model
  // without tables (FIXED_WORDS in tools/tfjs_converter/reference.py).
  const FIXED_WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'a', 'lazy', 'dog'];
  // A lookup table: TF.js fills it from the model's initializer, never the caller.
  const TABLE = 'DT_RESOURCE';
  const UNKNOWN_DIMENSION = 2;
  const SHOWN_VALUES = 6;

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function shapeOf(info) {
    const shape = info.tensorShape || {};
    if (shape.unknownRank) return null;
    return (shape.dim || []).map((d) => Number(d.size));
  }

  function describe(info) {
    const shape = shapeOf(info);
    const dims = shape === null ? '?' : `[${shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
    return `${info.dtype} ${dims}`;
  }

  /** A small seeded generator (mulberry32): the same inputs on every backend and reload. */
  function generator(seedText) {
    let seed = 0;
    for (const c of seedText) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) | 0;
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** {key: TENSOR} in run_models.js's encoding, from model.json's signature. */
  function generatedInputs(signature, inputs) {
    const generated = {};
    for (const [key, info] of Object.entries(inputs)) {
      if (info.dtype === TABLE) continue;
      const dtype = info.dtype === 'DT_STRING' ? 'string' : DTYPES[info.dtype];
      const shape = shapeOf(info);
      if (!dtype || shape === null) {
        throw new Error(`cannot generate input ${key} (${describe(info)}): give the page a model with numeric, string or bool inputs of known rank`);
      }
      const concrete = shape.map((d) => (d < 0 ? UNKNOWN_DIMENSION : d));
      const size = concrete.reduce((a, b) => a * b, 1);
      const random = generator(`${signature}/${key}`);
      const data = Array.from({ length: size }, () => {
        const x = random();
        if (dtype === 'float32') return 2 * x - 1;
        if (dtype === 'bool') return x < 0.5 ? 0 : 1;
        if (dtype === 'string') return FIXED_WORDS[Math.floor(FIXED_WORDS.length * x)];
        return Math.floor(10 * x);
      });
      generated[key] = { dtype, shape: concrete, data };
    }
    return generated;
  }

  function summarize(tensor) {
    const values = tensor.data.slice(0, SHOWN_VALUES).map((v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v));
    const more = tensor.data.length > SHOWN_VALUES ? ', …' : '';
    return `${tensor.dtype} [${tensor.shape.join(', ')}]: ${values.join(', ')}${more}`;
  }

  function listSignatures(container, models) {
    for (const [name, model] of Object.entries(models)) {
      container.appendChild(element('h2', name));
      const table = element('table');
      table.appendChild(element('tr')).append(element('th', 'input / output'), element('th', 'key'), element('th', 'dtype and shape'));
      for (const [kind, entries] of [['input', model.signature.inputs || {}], ['output', model.signature.outputs || {}]]) {
        for (const [key, info] of Object.entries(entries)) {
          const what = info.dtype === TABLE ? 'lookup table, filled by the model: not an input to give' : describe(info);
          table.appendChild(element('tr')).append(element('td', kind), element('td', key), element('td', what));
        }
      }
      container.appendChild(table);
    }
  }

  async function startBackend(name) {
    if (name === 'wasm') tf.wasm.setWasmPaths('/tfjs/');
    if (!tf.findBackendFactory(name)) return `not in this page's bundles`;
    try {
      await tfjsRunModels.requireBackend(tf, name);
      return null;
    } catch (error) {
      return error.message || String(error);
    }
  }

  async function timed(action) {
    const started = performance.now();
    const value = await action();
    return [value, performance.now() - started];
  }

  async function runOne(url, signature, inputs) {
    const [model, loadMs] = await timed(() => tf.loadGraphModel(url));
    const job = { signatures: { [signature]: { inputs } } };
    let result;
    let firstMs;
    let warmMs;
    try {
      // runJob disposes the model it is given: hand it one that stays.
      const keep = { modelSignature: model.modelSignature, artifacts: model.artifacts, executeAsync: (...a) => model.executeAsync(...a), dispose() {} };
      [result, firstMs] = await timed(() => tfjsRunModels.runJob(tf, job, async () => keep));
      if (!result.errors[signature]) [result, warmMs] = await timed(() => tfjsRunModels.runJob(tf, job, async () => keep));
    } finally {
      model.dispose();
    }
    return { loadMs, firstMs, warmMs, error: result.errors[signature], outputs: result.signatures[signature] };
  }

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`cannot load ${url}`));
      document.head.appendChild(script);
    });
  }

  async function main() {
    tf.enableProdMode();
    const index = await (await fetch('/index.json')).json();
    for (const url of index.scripts) await loadScript(url);
    document.getElementById('title').textContent = index.title;
    document.title = `${index.title}: TF.js models`;
    const models = {};
    for (const [name, url] of Object.entries(index.signatures)) models[name] = await (await fetch(url)).json();
    listSignatures(document.getElementById('signatures'), models);

    const status = document.getElementById('status');
    const runsTable = document.getElementById('runs');
    const summary = { runs: 0, errors: [], backends: {} };
    for (const backend of BACKENDS) {
      const unavailable = await startBackend(backend);
      summary.backends[backend] = unavailable ? `unavailable: ${unavailable}` : 'ran';
      if (unavailable) {
        runsTable.appendChild(element('tr')).append(element('td', '—'), element('td', backend), element('td', `not available here: ${unavailable}`, 'unavailable'));
        continue;
      }
      for (const [signature, url] of Object.entries(index.signatures)) {
        status.textContent = `Running ${signature} on ${backend}…`;
        const row = runsTable.appendChild(element('tr'));
        row.append(element('td', signature), element('td', backend));
        let run;
        try {
          run = await runOne(url, signature, generatedInputs(signature, models[signature].signature.inputs || {}));
        } catch (error) {
          run = { error: error.message || String(error) };
        }
        summary.runs++;
        if (run.error) {
          summary.errors.push(`${signature} on ${backend}: ${run.error}`);
          console.error(`${signature} on ${backend}: ${run.error}`);
          row.append(element('td', run.error, 'error'));
          continue;
        }
        const outputs = element('td', undefined, 'values');
        for (const [key, tensor] of Object.entries(run.outputs)) outputs.appendChild(element('div', `${key}: ${summarize(tensor)}`));
        row.append(element('td', run.loadMs.toFixed(1)), element('td', run.firstMs.toFixed(1)), element('td', run.warmMs.toFixed(1)), outputs);
      }
    }
    status.textContent = summary.errors.length ? `Done: ${summary.errors.length} of ${summary.runs} runs failed.` : `Done: ${summary.runs} runs, no errors.`;
    window.tfjsServeResult = summary;
  }

  window.addEventListener('load', () => {
    main().catch((error) => {
      console.error(`the page failed: ${error.stack || error}`);
      document.getElementById('status').textContent = `Failed: ${error.message || error}`;
      window.tfjsServeResult = { runs: 0, errors: [String(error)], backends: {} };
    });
  });
})();
