#!/usr/bin/env node
/**
 * Opens a tfjs_model_server page in headless Chromium (the pinned one, as
 * tfjs_model_test uses) and prints what happened as JSON: the page's own
 * summary (window.tfjsServeResult), every console error and page error, and
 * the text of its tables.
 *
 *   NODE_PATH=<node_modules> node check_serve_page.js URL
 */
'use strict';

const path = require('path');
const { launchChromium } = require(path.join(__dirname, '..', 'tools', 'tfjs_runner', 'browser.js'));

async function main() {
  const url = process.argv[2];
  const session = await launchChromium();
  const consoleErrors = [];
  try {
    const page = await session.browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.tfjsServeResult !== undefined, null, { timeout: 300000 });
    const result = await page.evaluate(() => window.tfjsServeResult);
    const signatures = await page.evaluate(() => document.getElementById('signatures').innerText);
    const runs = await page.evaluate(() => document.getElementById('runs').innerText);
    process.stdout.write(JSON.stringify({ browser: session.description, result, consoleErrors, signatures, runs }));
  } finally {
    await session.close();
  }
}

main().catch((error) => {
  process.stderr.write(`check_serve_page: ${error.stack || error}\n`);
  process.exit(1);
});
