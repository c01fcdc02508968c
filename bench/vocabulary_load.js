#!/usr/bin/env node
/**
 * Times a converted text model in headless Chromium, as a web app loads it:
 * tf.loadGraphModel over HTTP from 127.0.0.1 (model.json, shards, and the
 * initializer that fills the lookup table), then the first and a second
 * executeAsync on a [1, 2] batch of words.
 *
 *   node vocabulary_load.js MODEL_DIR INPUT_KEY REPEATS
 *
 * Prints one JSON line: {backend: [{load, first, second} in ms, ...]}.
 * Uses tools/tfjs_runner/browser.js's server and launcher; NODE_PATH must
 * hold the runner's npm packages.
 */
'use strict';

const { routes, serve, launchChromium } = require('../tools/tfjs_runner/browser.js');

async function main() {
  const [modelDir, inputKey, repeats] = process.argv.slice(2);
  const { table, urls } = routes({ model: modelDir });
  const server = await serve(table);
  let chromium;
  try {
    // The pinned Chromium of the npm lock, or CHROMIUM_BIN.
    chromium = await launchChromium();
    const { browser } = chromium;
    const base = `http://127.0.0.1:${server.address().port}/`;
    const timings = {};
    for (const backend of ['cpu', 'wasm']) {
      timings[backend] = [];
      for (let i = 0; i < Number(repeats); i++) {
        const page = await browser.newPage();
        await page.goto(base, { waitUntil: 'load' });
        timings[backend].push(
          await page.evaluate(
            async ([url, key, backend]) => {
              tf.enableProdMode();
              if (backend === 'wasm') tf.wasm.setWasmPaths('/tfjs/');
              await tfjsRunModels.requireBackend(tf, backend);
              const started = performance.now();
              const model = await tf.loadGraphModel(url);
              const loaded = performance.now();
              const words = () => ({ [key]: tf.tensor([['word', 'zzxqvj']], [1, 2], 'string') });
              for (const t of [].concat(await model.executeAsync(words()))) await t.data();
              const first = performance.now();
              for (const t of [].concat(await model.executeAsync(words()))) await t.data();
              const second = performance.now();
              return { load: loaded - started, first: first - loaded, second: second - first };
            },
            [urls.model, inputKey, backend],
          ),
        );
        await page.close();
      }
    }
    console.log(JSON.stringify(timings));
  } finally {
    if (chromium) await chromium.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
