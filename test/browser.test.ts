// A notebook in a real Jupyter server and a real browser: Debian's classic Notebook server (what
// CI installs), driven by Debian's Chromium through playwright-core. It opens an executed notebook,
// starts the project kernel, runs a cell that imports lib/ and checks that the figure appears.
// Skips, with one line saying what to install, where Jupyter's Notebook or Chromium is missing.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { findChromium } from '../lib/plot';
import { findFrontEnd, frontEndArgs, type FrontEnd } from '../scripts/lab';
import { KERNEL_DISPLAY_NAME, KERNEL_NAME, jupyterEnv, setupKernel } from '../scripts/setup-kernel';

const ROOT = path.resolve(__dirname, '..');
const NOTEBOOK = '00-walkthrough.ipynb';
const SCREENSHOT = path.join(ROOT, 'data', 'notebooks-out', 'screenshots', 'browser-classic-notebook.png');
const TABLE_SCREENSHOT = path.join(path.dirname(SCREENSHOT), 'browser-classic-notebook-table.png');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers its API (or rejects with what it printed). */
async function waitForServer(url: string, server: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the Notebook server exited (status ${server.exitCode}):\n${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Notebook server did not answer within ${timeoutMs / 1000} s:\n${log()}`);
}

describe('browser: an executed notebook in the classic Notebook server and Chromium', function () {
  this.timeout(150_000);
  let frontEnd: FrontEnd | undefined;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let work: string;
  let serverLog = '';

  before(function () {
    frontEnd = findFrontEnd(['classic']);
    const chromium = findChromium();
    const missing = [
      ...(frontEnd ? [] : ["Jupyter's classic Notebook (apt-get install jupyter-notebook)"]),
      ...(chromium ? [] : ['Chromium (apt-get install chromium, or SAT_CHROMIUM)']),
    ];
    if (missing.length) {
      console.log(`    browser test skipped: no ${missing.join(' and no ')}`);
      this.skip();
    }
    work = mkdtempSync(path.join(os.tmpdir(), 'sat-browser-'));
  });

  after(async () => {
    await browser?.close();
    if (server?.pid && server.exitCode === null) {
      // The server's process group: the server and the kernels it started.
      const group = -server.pid;
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(group, 'SIGTERM');
      const killed = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
      if (!killed) process.kill(group, 'SIGKILL');
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('starts the project kernel, runs a cell that imports lib/, and shows its figure', async () => {
    // A copy of the executed notebook: the browser must not autosave over the committed one.
    const notebooks = path.join(work, 'notebooks');
    mkdirSync(notebooks);
    copyFileSync(path.join(ROOT, 'notebooks', NOTEBOOK), path.join(notebooks, NOTEBOOK));
    setupKernel(ROOT);
    const port = await freePort();
    const token = randomBytes(16).toString('hex');
    const args = frontEndArgs(frontEnd!, notebooks, ['--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--NotebookApp.token=${token}`], process.getuid?.() === 0);
    server = spawn(frontEnd!.command[0], args, {
      cwd: ROOT,
      detached: true, // its own process group, so that cleaning up reaches the kernels too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: jupyterEnv(ROOT, { JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'), JUPYTER_CONFIG_DIR: path.join(work, 'config') }),
    });
    server.stdout!.on('data', (d) => (serverLog += d));
    server.stderr!.on('data', (d) => (serverLog += d));
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(`${base}/api/status?token=${token}`, server, () => serverLog, 30_000);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/notebooks/${NOTEBOOK}?token=${token}`);

    // The executed notebook shows its saved figures (PNG) and starts our kernel.
    await page.waitForSelector('.output_png img', { timeout: 30_000 });
    const savedFigures = await page.locator('.output_png img').count();
    assert.ok(savedFigures >= 5, `the executed notebook shows ${savedFigures} figure(s)`);
    await page.waitForFunction(() => {
      const nb = (globalThis as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter?.notebook;
      return nb?.kernel?.is_connected() === true;
    }, undefined, { timeout: 60_000 });
    // The saved results table: text left-aligned, numbers right-aligned, although the Notebook's
    // CSS right-aligns every cell and this untrusted notebook loses style attributes.
    const table = page.locator('table.sat-table').first();
    await table.scrollIntoViewIfNeeded();
    const aligns = await table.locator('tbody tr').first().locator('td > div').evaluateAll((divs) =>
      divs.map((div) => {
        const style = (globalThis as unknown as { getComputedStyle(e: unknown): { textAlign: string } }).getComputedStyle(div);
        return [(div as unknown as { textContent: string }).textContent, style.textAlign.replace('-webkit-', '')];
      }),
    );
    assert.equal(aligns[0][1], 'left', `first column (${aligns[0][0]}) is text: ${JSON.stringify(aligns)}`);
    const numbers = aligns.filter(([text]) => /^\d+(\.\d+)?%$/.test(text));
    assert.ok(numbers.length >= 2, `accuracy cells: ${JSON.stringify(aligns)}`);
    for (const [text, align] of numbers) assert.equal(align, 'right', text);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await table.screenshot({ path: TABLE_SCREENSHOT });
    console.log(`    screenshot: ${path.relative(process.cwd(), TABLE_SCREENSHOT)}`);

    const kernel = await page.evaluate(() => (globalThis as unknown as { Jupyter: { notebook: { kernel: { name: string } } } }).Jupyter.notebook.kernel.name);
    assert.equal(kernel, KERNEL_NAME);
    assert.equal((await page.locator('.kernel_indicator_name').innerText()).trim(), KERNEL_DISPLAY_NAME);

    // A new first cell that imports lib/ and shows a figure, run with Shift+Enter as a person would.
    const source = [
      "import { lineChart, show } from './lib/plot';",
      "await show(lineChart({ title: 'Drawn in the browser test', xTitle: 'x', yTitle: 'y', series: [{ name: 'x squared', x: [0, 1, 2, 3, 4], y: [0, 1, 4, 9, 16] }] }));",
    ].join('\n');
    await page.evaluate((text) => {
      const nb = (globalThis as unknown as { Jupyter: { notebook: { insert_cell_at_index(t: string, i: number): { set_text(s: string): void }; select(i: number): void } } }).Jupyter.notebook;
      nb.insert_cell_at_index('code', 0).set_text(text);
      nb.select(0);
    }, source);
    await page.locator('.cell').first().locator('.CodeMirror').click();
    await page.keyboard.press('Shift+Enter');

    const first = page.locator('.cell').first();
    const figure = first.locator('.output_png img');
    await figure.waitFor({ timeout: 90_000 }).catch(async () => {
      throw new Error(`no figure in the new cell's output; it shows:\n${await first.locator('.output_area').allInnerTexts().catch(() => [])}\nserver:\n${serverLog.slice(-2000)}`);
    });
    const size = await figure.evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight]);
    assert.ok(size[0] >= 600 && size[1] >= 300, `the figure is ${size[0]}x${size[1]}`);
    assert.equal(await first.locator('.output_error, .output_stderr').count(), 0, 'the cell printed an error');
    assert.match(await first.locator('.input_prompt').innerText(), /\[1\]/, 'the cell ran as the first execution in a fresh kernel');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await first.scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT });
    console.log(`    screenshot: ${path.relative(process.cwd(), SCREENSHOT)}`);
    assert.deepEqual(pageErrors, []);
  });
});
