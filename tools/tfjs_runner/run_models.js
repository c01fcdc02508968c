/**
 * Runs a tfjs_model_test job on whatever TF.js backend is active: the part
 * shared by Node and the browser page, which differ only in how models load.
 *
 * A job comes from the reference JSON the TfjsReference action writes:
 *   {"signatures": {"<sig>": {"inputs": {"<key>": TENSOR}}},
 *    "sequences":  {"<sig>": {"feed": {"<input>": "<output>"}, "frames": [{"<key>": TENSOR}]}}}
 * TENSOR is {"dtype": "float32"|"int32"|"bool"|"string", "shape": [...], "data": [...]},
 * non-finite numbers as the strings "NaN", "Infinity", "-Infinity"; strings as text.
 *
 * Loaded as a CommonJS module in Node and as a plain <script> in the page
 * (window.tfjsRunModels), so it imports nothing: `tf` is passed in.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory();
  } else {
    root.tfjsRunModels = factory();
  }
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  // tfjs-converter prints this on every executeAsync of a graph without
  // control flow, past tf.enableProdMode(); runners drop it from the log.
  const EXECUTE_ASYNC_ADVISORY = 'This model execution did not contain any nodes with control flow';

  function encodeNumber(x) {
    return Number.isFinite(x) ? x : String(x);
  }

  function decodeNumber(x) {
    return typeof x === 'string' ? Number(x) : x;
  }

  function toTensor(tf, spec, where) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(spec.data) || spec.data.length !== size) {
      throw new Error(`${where}: shape [${spec.shape}] needs ${size} values, got ${spec.data && spec.data.length}`);
    }
    const data = spec.dtype === 'string' ? spec.data : spec.data.map(decodeNumber);
    return tf.tensor(data, spec.shape, spec.dtype);
  }

  async function fromTensor(t) {
    // data(), not dataSync(): webgl downloads without blocking. String
    // tensors come back as decoded text.
    const values = await t.data();
    const data = t.dtype === 'string' ? Array.from(values) : Array.from(values, encodeNumber);
    return { dtype: t.dtype, shape: t.shape.slice(), data };
  }

  /**
   * The signature's lookup-table inputs: tf.loadGraphModel feeds those
   * itself, from the tables its initializer graph (model.json's
   * modelInitializer) created and filled; they are matched by resourceId.
   * A table input no initializer fills would make every lookup fail on an
   * undefined table, so it is reported as what it is.
   */
  function tableInputs(model, signature) {
    const inputs = model.modelSignature.inputs || {};
    const tables = Object.keys(inputs).filter((key) => inputs[key].dtype === 'DT_RESOURCE');
    const artifacts = model.artifacts || {};
    const filled = new Set();
    const initializerOutputs = (artifacts.initializerSignature && artifacts.initializerSignature.outputs) || {};
    if (artifacts.modelInitializer) {
      for (const output of Object.values(initializerOutputs)) filled.add(output.resourceId);
    }
    const unfilled = tables.filter((key) => inputs[key].resourceId == null || !filled.has(inputs[key].resourceId));
    const placeholders = ((artifacts.modelTopology && artifacts.modelTopology.node) || []).filter(
      (node) => node.op === 'Placeholder' && node.attr && node.attr.dtype && node.attr.dtype.type === 'DT_RESOURCE',
    );
    for (const node of placeholders) {
      if (!tables.some((key) => inputs[key].name.split(':')[0] === node.name)) unfilled.push(node.name);
    }
    if (unfilled.length) {
      const several = unfilled.length > 1;
      throw new Error(
        `lookup table${several ? 's' : ''} ${unfilled.join(', ')} of "${signature}" ${several ? 'are' : 'is'} ` +
          `never filled: model.json ${artifacts.modelInitializer ? `has no initializer output for ${several ? 'them' : 'it'}` : 'has no modelInitializer'}, ` +
          `so the table${several ? 's are' : ' is'} empty when the model runs (convert with the initializer kept, as tfjs_model does)`,
      );
    }
    return new Set(tables);
  }

  /**
   * Runs one signature by its SavedModel keys. model.modelSignature is
   * model.json's "signature"; model.inputs/outputs are graph tensor names.
   * executeAsync, because converted graphs may hold control flow. A single
   * requested output comes back as a bare Tensor.
   */
  async function execute(model, signature, feeds) {
    const keys = model.modelSignature;
    // A signature without inputs has no "inputs" map in a model.json that
    // another converter wrote (protobuf's JSON leaves empty maps out).
    if (!keys || !keys.outputs) {
      throw new Error(`model.json of "${signature}" has no signature`);
    }
    const tables = tableInputs(model, signature);
    const expected = Object.keys(keys.inputs || {}).filter((key) => !tables.has(key)).sort().join(', ');
    const given = Object.keys(feeds).sort().join(', ');
    if (expected !== given) {
      throw new Error(`"${signature}" takes inputs [${expected}], the reference has [${given}]`);
    }
    const outputKeys = Object.keys(keys.outputs);
    const raw = await model.executeAsync(feeds, outputKeys);
    const list = Array.isArray(raw) ? raw : [raw];
    return Object.fromEntries(outputKeys.map((key, i) => [key, list[i]]));
  }

  async function encodeAll(tf, tensors) {
    const encoded = {};
    for (const [key, t] of Object.entries(tensors)) encoded[key] = await fromTensor(t);
    return encoded;
  }

  async function runOnce(tf, model, signature, inputs) {
    const feeds = {};
    try {
      for (const [key, spec] of Object.entries(inputs)) feeds[key] = toTensor(tf, spec, `${signature}.${key}`);
      const outputs = await execute(model, signature, feeds);
      try {
        return await encodeAll(tf, outputs);
      } finally {
        tf.dispose(Object.values(outputs));
      }
    } finally {
      tf.dispose(Object.values(feeds));
    }
  }

  /**
   * A feedback sequence: step 0 gets every input from the frame; later steps
   * get the fed inputs from the previous step's outputs. Those stay on the
   * backend between steps, as in an app keeping a model's state, so error
   * accumulates as it would in deployment.
   */
  async function runSequence(tf, model, signature, sequence) {
    const steps = [];
    let carried = {};
    try {
      for (const [step, frame] of sequence.frames.entries()) {
        const fresh = {};
        try {
          for (const [key, spec] of Object.entries(frame)) fresh[key] = toTensor(tf, spec, `${signature}[${step}].${key}`);
          const outputs = await execute(model, signature, { ...fresh, ...carried });
          steps.push(await encodeAll(tf, outputs));
          const next = {};
          for (const [input, output] of Object.entries(sequence.feed)) next[input] = outputs[output];
          const kept = new Set(Object.values(next));
          tf.dispose(Object.values(outputs).filter((t) => !kept.has(t)));
          tf.dispose(Object.values(carried));
          carried = next;
        } finally {
          tf.dispose(Object.values(fresh));
        }
      }
    } finally {
      tf.dispose(Object.values(carried));
    }
    return steps;
  }

  /**
   * Runs every signature and sequence of a job. loadModel(signature) returns
   * a GraphModel. A signature that fails (a kernel the backend lacks), also
   * when disposing its model (wasm's memory errors surfaced there), is
   * reported in `errors` and the others still run.
   */
  async function runJob(tf, job, loadModel) {
    const result = { signatures: {}, sequences: {}, errors: {} };
    const names = new Set([...Object.keys(job.signatures || {}), ...Object.keys(job.sequences || {})]);
    const message = (e) => (e && e.message) || String(e);
    for (const signature of names) {
      let model;
      try {
        model = await loadModel(signature);
        if (job.signatures && job.signatures[signature]) {
          result.signatures[signature] = await runOnce(tf, model, signature, job.signatures[signature].inputs);
        }
        if (job.sequences && job.sequences[signature]) {
          result.sequences[signature] = await runSequence(tf, model, signature, job.sequences[signature]);
        }
      } catch (e) {
        result.errors[signature] = message(e);
      }
      try {
        if (model) model.dispose();
      } catch (e) {
        result.errors[signature] = result.errors[signature] || `${message(e)} (disposing the model after it ran)`;
      }
    }
    return result;
  }

  /** A run in which nothing could be computed: every signature of the job failed with message. */
  function failedJob(job, message) {
    const names = [...Object.keys(job.signatures || {}), ...Object.keys(job.sequences || {})];
    return { signatures: {}, sequences: {}, errors: Object.fromEntries(names.map((name) => [name, message])) };
  }

  /** Selects a backend and refuses a silent fallback to another one. */
  async function requireBackend(tf, name) {
    let selected = false;
    let error = null;
    try {
      selected = await tf.setBackend(name);
    } catch (e) {
      error = e;
    }
    await tf.ready();
    const active = tf.getBackend();
    if (!selected || active !== name) {
      throw new Error(`TF.js backend "${name}" did not start (active: ${active})${error ? `: ${error.message || error}` : ''}`);
    }
  }

  return { runJob, failedJob, requireBackend, EXECUTE_ASYNC_ADVISORY };
});
