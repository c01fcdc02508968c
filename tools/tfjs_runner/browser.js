/**
 * Runs a job in headless Chromium the way a web app runs a model: a page
 * served over HTTP from 127.0.0.1 loads the TF.js bundles and fetches each
 * model.json with tf.loadGraphModel. The browser is the headless Chromium
 * inside the npm package @sparticuz/chromium, pinned with its integrity hash
 * in package-lock.json and unpacked into the caller's temporary directory,
 * or any Chromium named by CHROMIUM_BIN; playwright-core drives it. Nothing
 * is downloaded.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { pipeline } = require('stream/promises');
const zlib = require('zlib');
const { chromium } = require('playwright-core');
const tar = require('tar-fs');
const { EXECUTE_ASYNC_ADVISORY, failedJob } = require('./run_models.js');

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm', // instantiateStreaming insists on it
  '.bin': 'application/octet-stream',
};

// No connection beyond our loopback server; no GPU (WebGL runs on
// SwiftShader, which playwright enables).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** URL path -> file. Only these files are served. */
function routes(models) {
  const tfjsDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs/package.json')), 'dist');
  const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const table = new Map([
    ['/', path.join(__dirname, 'page.html')],
    ['/run_models.js', path.join(__dirname, 'run_models.js')],
    ['/tfjs/tf.min.js', path.join(tfjsDist, 'tf.min.js')],
    ['/tfjs/tf-backend-wasm.min.js', path.join(wasmDist, 'tf-backend-wasm.min.js')],
  ]);
  for (const name of fs.readdirSync(wasmDist)) {
    if (name.endsWith('.wasm')) table.set(`/tfjs/${name}`, path.join(wasmDist, name));
  }
  const urls = {};
  for (const [signature, directory] of Object.entries(models)) {
    const prefix = `/models/${encodeURIComponent(signature)}/`;
    const model = JSON.parse(fs.readFileSync(path.join(directory, 'model.json'), 'utf8'));
    table.set(prefix + 'model.json', path.join(directory, 'model.json'));
    for (const group of model.weightsManifest || []) {
      for (const shard of group.paths) table.set(prefix + shard, path.join(directory, shard));
    }
    urls[signature] = prefix + 'model.json';
  }
  return { table, urls };
}

function serve(table) {
  const server = http.createServer((request, response) => {
    const file = request.method === 'GET' && table.get(decodeURI(new URL(request.url, 'http://x').pathname));
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    fs.readFile(file, (error, body) => {
      if (error) {
        response.writeHead(500).end();
        return;
      }
      const type = CONTENT_TYPES[path.extname(file)] || 'application/octet-stream';
      response.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const PINNED_PACKAGE = '@sparticuz/chromium';

/**
 * Unpacks the pinned Chromium (about 200 MB, a few seconds) into a fresh
 * directory under `parent` and returns its executable: the brotli-packed
 * binary, and beside it SwiftShader (WebGL without a GPU) and fonts. Not the
 * package's own executablePath(): that writes to a shared os.tmpdir(),
 * reuses whatever is there, and chowns files as root, which a sandbox refuses.
 */
async function unpackPinnedChromium(parent) {
  const bin = path.join(path.dirname(require.resolve(PINNED_PACKAGE)), '..', 'bin');
  const directory = fs.mkdtempSync(path.join(parent, 'chromium-'));
  const executable = path.join(directory, 'chromium');
  const brotli = (name) => fs.createReadStream(path.join(bin, name)).pipe(zlib.createBrotliDecompress());
  await Promise.all([
    pipeline(brotli('chromium.br'), fs.createWriteStream(executable, { mode: 0o700 })),
    pipeline(brotli('swiftshader.tar.br'), tar.extract(directory, { chown: false })),
    pipeline(brotli('fonts.tar.br'), tar.extract(path.join(directory, 'fonts'), { chown: false })),
  ]);
  return { executable, directory };
}

/**
 * Starts headless Chromium: CHROMIUM_BIN's if set, else the pinned one.
 * Returns {browser, description, close()}; close() also removes every file
 * it made.
 */
async function launchChromium({ systemExecutable = process.env.CHROMIUM_BIN } = {}) {
  const made = [];
  const cleanUp = () => {
    for (const directory of made) fs.rmSync(directory, { recursive: true, force: true });
  };
  let executable = systemExecutable;
  let description;
  let fix;
  try {
    if (systemExecutable) {
      if (!fs.existsSync(systemExecutable)) {
        throw new Error(
          `Chromium not found at ${systemExecutable} (CHROMIUM_BIN): point CHROMIUM_BIN at a Chromium ` +
            `binary, or leave it unset to use the pinned ${PINNED_PACKAGE}`,
        );
      }
      description = `Chromium at ${systemExecutable} (CHROMIUM_BIN)`;
      fix = 'fix that Chromium, or leave CHROMIUM_BIN unset to use the pinned one';
    } else {
      // Its "exports" hide package.json: read it beside build/index.js.
      const manifest = path.join(path.dirname(require.resolve(PINNED_PACKAGE)), '..', 'package.json');
      const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      const unpacked = await unpackPinnedChromium(os.tmpdir());
      made.push(unpacked.directory);
      executable = unpacked.executable;
      description = `pinned ${PINNED_PACKAGE} ${version}`;
      fix = 'it needs libnss3 (apt-get install libnss3); or set CHROMIUM_BIN=/path/to/chromium';
    }
    // Playwright puts the browser profile under os.tmpdir(), and Chromium its
    // sockets in the profile: a socket path longer than 107 bytes (Bazel's
    // TEST_TMPDIR is deeper than that) stops Chromium at start.
    const profileParent = fs.mkdtempSync(path.join(os.tmpdir().length > 40 ? '/tmp' : os.tmpdir(), 'tfjs-chromium-'));
    made.push(profileParent);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = profileParent;
    let browser;
    try {
      browser = await chromium.launch({ executablePath: executable, headless: true, timeout: 60000, args: CHROMIUM_ARGS });
    } catch (error) {
      const detail = String(error.message || error).split('\n').slice(0, 6).join('\n');
      throw new Error(`${description} did not start (${fix}):\n${detail}`);
    } finally {
      process.env.TMPDIR = previous;
    }
    return {
      browser,
      description: `${description}, ${browser.version()}`,
      async close() {
        await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10000))]).catch(() => {});
        cleanUp();
      },
    };
  } catch (error) {
    cleanUp();
    throw error;
  }
}

/**
 * Runs the job once per backend, each in a fresh page.
 * Returns {backend: run} with runs shaped like run_models.runJob's.
 */
async function runInChromium({ models, job, backends, log }) {
  const { table, urls } = routes(models);
  const server = await serve(table);
  let chromiumSession;
  try {
    chromiumSession = await launchChromium();
    log(`chromium: ${chromiumSession.description}`);
    const base = `http://127.0.0.1:${server.address().port}/`;
    const runs = {};
    for (const backend of backends) {
      const page = await chromiumSession.browser.newPage();
      page.setDefaultTimeout(120000);
      page.on('console', (message) => {
        if (!message.text().startsWith(EXECUTE_ASYNC_ADVISORY)) log(`chromium ${backend} console.${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => log(`chromium ${backend} page error: ${error.message}`));
      await page.goto(base, { waitUntil: 'load' });
      if (!(await page.evaluate(() => window.tfjsReady === true))) {
        throw new Error('the test page did not load TF.js');
      }
      // As in Node: a backend that fails past one signature fails its own rows.
      try {
        runs[backend] = await page.evaluate(([j, b]) => window.runTfjsJob(j, b), [{ ...job, models: urls }, backend]);
      } catch (error) {
        runs[backend] = failedJob(job, (error && error.message) || String(error));
      }
      await page.close();
    }
    return runs;
  } finally {
    if (chromiumSession) await chromiumSession.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

module.exports = { runInChromium, launchChromium, routes, serve };
