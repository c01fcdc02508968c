#!/usr/bin/env node
// Writes what the locked TF.js packages say about running a graph model:
// tools/tfjs_converter/tfjs_kernels.json, read by the converter's report and
// `backends` budget (so that builds need no Node). Run it after changing
// package-lock.json:
//
//   npm_dir="$(mktemp -d)"   # outside the workspace: npm packages hold BUILD files
//   cp tools/tfjs_runner/{package.json,package-lock.json,.npmrc} "$npm_dir"
//   (cd "$npm_dir" && npm ci --ignore-scripts)
//   NODE_PATH="$npm_dir/node_modules" node tools/tfjs_runner/kernel_registry.js \
//       tools/tfjs_converter/tfjs_kernels.json
//
// tests/kernel_registry_test.py does the same with @rules_tfjs_node's copy.
//
// Everything comes from the packages themselves:
// - backends: each backend's kernel registry, `tf.getKernelsForBackend(name)`
//   after requiring the backend (registering kernels needs no GPU or wasm).
// - ops: graph op -> the kernels it runs. tfjs-converter's own
//   metadata/kernel2op.json maps each graph op it supports to the tfjs-core op
//   functions its executor calls (`MatMul` -> `matMul`, `RFFT` -> `rfft`,
//   `Identity` -> none). A graph op whose name is itself a kernel name runs
//   that kernel if its op function runs it directly (`Abs` runs `Abs`,
//   `ComplexAbs` runs `ComplexAbs`, although both call `abs`; `BroadcastTo`
//   is a kernel name, but `broadcastTo` runs `Tile`). Otherwise an op function runs the kernels its module
//   imports from kernel_names (`matMul` -> `BatchMatMul`) or, if it imports
//   none, those of the op functions it is composed of (`rfft` -> `Complex`,
//   `FFT`, `Real`, `Imag`, ...), read from tfjs-core's ES modules. The
//   composed set can overstate: it follows every branch, so `zeros` counts
//   `Complex` (used only for complex64 zeros).
// - execute_async_ops: the ops for which GraphModel.execute refuses and
//   executeAsync is needed (control flow, dynamic shapes, hash tables), from
//   tfjs-converter's model_analysis.js.
// - string_ops: the ops TF.js does not run on string tensors, measured by
//   running them on the cpu and wasm backends (string_ops.js).
'use strict';

const fs = require('fs');
const path = require('path');
const { stringOps } = require('./string_ops.js');

const BACKENDS = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgl: '@tensorflow/tfjs-backend-webgl',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
};
const CORE = '@tensorflow/tfjs-core';
const CONVERTER = '@tensorflow/tfjs-converter';

function packageDirectory(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(packageDirectory(name), 'package.json'), 'utf8'))
    .version;
}

function backendKernels(tf) {
  const kernels = {};
  for (const [backend, name] of Object.entries(BACKENDS)) {
    require(name);
    kernels[backend] = [...new Set(tf.getKernelsForBackend(backend).map((k) => k.kernelName))].sort();
  }
  return kernels;
}

// `import {a, b as c} from './x'`, `export {a} from './x'`, `export * from './x'`,
// `import * as ns from './x'`: [{names: [[imported, local]], star, namespace, from}].
function moduleImports(text) {
  const found = [];
  const pattern = /(?:import|export)\s+(?:\{([^}]*)\}|\*\s+as\s+(\w+)|(\*))\s+from\s+'([^']+)'/g;
  for (const match of text.matchAll(pattern)) {
    const names = (match[1] || '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => {
        const [imported, local] = n.split(/\s+as\s+/);
        return [imported, local || imported];
      });
    found.push({names, namespace: match[2], star: Boolean(match[3]), from: match[4]});
  }
  return found;
}

class CoreOps {
  constructor() {
    this.dist = path.join(packageDirectory(CORE), 'dist');
    this.kernelNameFile = path.join(this.dist, 'kernel_names.js');
    this.kernelNames = {};
    const text = fs.readFileSync(this.kernelNameFile, 'utf8');
    for (const match of text.matchAll(/export const (\w+) = '([^']+)';/g)) {
      this.kernelNames[match[1]] = match[2];
    }
    this.memo = new Map();
  }

  resolve(from, specifier) {
    const base = path.resolve(path.dirname(from), specifier);
    for (const candidate of [`${base}.js`, path.join(base, 'index.js')]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    throw new Error(`cannot resolve ${specifier} from ${from}`);
  }

  text(file) {
    return fs.readFileSync(file, 'utf8');
  }

  // The module that defines `name` as exported from `file` (follows re-exports).
  definingModule(file, name) {
    const text = this.text(file);
    if (new RegExp(`^(export )?(const|function) ${name}\\b`, 'm').test(text)) return file;
    for (const entry of moduleImports(text)) {
      if (!entry.from.startsWith('.')) continue;
      const pair = entry.names.find(([, local]) => local === name);
      if (pair) return this.definingModule(this.resolve(file, entry.from), pair[0]);
    }
    for (const entry of moduleImports(text)) {
      if (entry.star && entry.from.startsWith('.')) {
        const found = this.definingModule(this.resolve(file, entry.from), name);
        if (found) return found;
      }
    }
    return null;
  }

  // `matMul` or `fused.matMul` -> its module file.
  opModule(opName) {
    const ops = path.join(this.dist, 'ops', 'ops.js');
    const [first, second] = opName.split('.');
    if (!second) return this.definingModule(ops, first);
    const namespace = moduleImports(this.text(ops)).find((e) => e.namespace === first);
    const file = namespace ? this.resolve(ops, namespace.from) : ops;
    return this.definingModule(file, second);
  }

  isOpModule(file) {
    return file.startsWith(path.join(this.dist, 'ops') + path.sep);
  }

  directKernels(file) {
    const kernels = new Set();
    for (const entry of moduleImports(this.text(file))) {
      if (!entry.from.startsWith('.') || this.resolve(file, entry.from) !== this.kernelNameFile) {
        continue;
      }
      for (const [imported] of entry.names) {
        if (this.kernelNames[imported]) kernels.add(this.kernelNames[imported]);
      }
    }
    for (const match of this.text(file).matchAll(/runKernel\('(\w+)'/g)) kernels.add(match[1]);
    return kernels;
  }

  kernels(file, visiting = new Set()) {
    if (this.memo.has(file)) return this.memo.get(file);
    const direct = this.directKernels(file);
    if (direct.size || visiting.has(file)) return direct;
    visiting.add(file);
    const composed = new Set();
    for (const entry of moduleImports(this.text(file))) {
      if (!entry.from.startsWith('.')) continue;
      const dependency = this.resolve(file, entry.from);
      if (!this.isOpModule(dependency) || dependency === this.kernelNameFile) continue;
      for (const kernel of this.kernels(dependency, visiting)) composed.add(kernel);
    }
    visiting.delete(file);
    this.memo.set(file, composed);
    return composed;
  }
}

function graphOpKernels() {
  const core = new CoreOps();
  const kernel2op = JSON.parse(
    fs.readFileSync(path.join(packageDirectory(CONVERTER), 'metadata', 'kernel2op.json'), 'utf8'),
  );
  const ops = {};
  for (const graphOp of Object.keys(kernel2op).sort()) {
    const opFunctions = kernel2op[graphOp];
    const files = opFunctions.map((opFunction) => {
      const file = core.opModule(opFunction);
      if (!file) throw new Error(`${graphOp}: no tfjs-core module defines ${opFunction}`);
      return file;
    });
    if (files.some((file) => core.directKernels(file).has(graphOp))) {
      ops[graphOp] = [graphOp];
    } else if (!files.length && Object.values(core.kernelNames).includes(graphOp)) {
      // kernel2op.json lists no op function for a few ops whose executor
      // calls the op of the same name (`Square`, `Identity`).
      ops[graphOp] = [graphOp];
    } else {
      const kernels = new Set();
      for (const file of files) {
        for (const kernel of core.kernels(file)) kernels.add(kernel);
      }
      ops[graphOp] = [...kernels].sort();
    }
  }
  return ops;
}

function executeAsyncOps() {
  const file = path.join(packageDirectory(CONVERTER), 'dist', 'executor', 'model_analysis.js');
  const text = fs.readFileSync(file, 'utf8');
  const found = {};
  for (const [, name, body] of text.matchAll(/const (\w+_OPS) = new Set\(\[([^\]]*)\]\)/g)) {
    found[name.toLowerCase()] = [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
  }
  for (const name of ['control_flow_ops', 'dynamic_shape_ops', 'hash_table_ops']) {
    if (!found[name]) throw new Error(`${file} no longer defines ${name.toUpperCase()}`);
  }
  return found;
}

async function registry() {
  const tf = require(CORE);
  const packages = {};
  for (const name of [CORE, CONVERTER, ...Object.values(BACKENDS)]) {
    packages[name] = packageVersion(name);
  }
  return {
    generated_by: 'tools/tfjs_runner/kernel_registry.js from tools/tfjs_runner/package-lock.json',
    packages,
    backends: backendKernels(tf),
    ops: graphOpKernels(),
    execute_async_ops: executeAsyncOps(),
    string_ops: await stringOps(tf),
  };
}

async function main() {
  const output = process.argv[2];
  const text = JSON.stringify(await registry(), null, 1) + '\n';
  if (output) fs.writeFileSync(output, text);
  else process.stdout.write(text);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
}
