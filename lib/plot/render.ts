// Static rendering of figures to SVG and PNG, offline: headless Chromium (Debian's `chromium`)
// driven by playwright-core, with plotly.js loaded from node_modules into a blank page. One
// browser per process, started on first use (about 2.5 s, most of it parsing plotly) and closed
// after a quiet spell so that scripts can exit; `closeRenderer()` closes it at once.
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { projectRoot } from '../util/fs';
import type { Figure } from './figure';
import { DEFAULT_HEIGHT, DEFAULT_WIDTH } from './figure';
import { inNotebook } from './notebook';

export type ImageFormat = 'png' | 'svg';

export interface RenderOptions {
  /** Pixel size; defaults to the figure's layout size. */
  width?: number;
  height?: number;
  /** Pixel density for PNG (2 = sharp on high-DPI screens). */
  scale?: number;
}

const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];
// Playwright adds --headless and a fresh temporary --user-data-dir (deleted on close) itself.
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The Chromium executable: $SAT_CHROMIUM, else the first usual install path that exists. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.SAT_CHROMIUM;
  if (fromEnv) return fromEnv;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}

interface Session {
  browser: Browser;
  page: Page;
}

let session: Promise<Session> | undefined;
let queue: Promise<unknown> = Promise.resolve();
let pending = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let idleMs: number | undefined;

/**
 * How long the browser stays open after its last use. Default: 2 minutes inside a notebook
 * kernel (figures come cell after cell), 2 seconds elsewhere (a script exits soon after).
 */
export function setRendererIdleTimeout(ms: number): void {
  idleMs = ms;
}

/** Closes the browser now (a later render starts a new one). */
export async function closeRenderer(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const current = session;
  session = undefined;
  if (!current) return;
  try {
    await (await current).browser.close();
  } catch {
    // a browser that failed to start or already died has nothing left to close
  }
}

/** Renders a figure: PNG as a Buffer, SVG as markup. */
export async function renderFigure(fig: Figure, format: 'png', opts?: RenderOptions): Promise<Buffer>;
export async function renderFigure(fig: Figure, format: 'svg', opts?: RenderOptions): Promise<string>;
export async function renderFigure(fig: Figure, format: ImageFormat, opts: RenderOptions = {}): Promise<Buffer | string> {
  assertFigure(fig);
  const size = {
    format,
    width: opts.width ?? numberOr(fig.layout.width, DEFAULT_WIDTH),
    height: opts.height ?? numberOr(fig.layout.height, DEFAULT_HEIGHT),
    scale: opts.scale ?? 1,
  };
  const url = await withPage((page) =>
    page.evaluate(
      ([f, o, seed]) => {
        const g = globalThis as unknown as PlotlyGlobal;
        g.__satSeedRandom(seed); // the same ids in every rendering of the same figure
        return g.Plotly.toImage({ data: f.data, layout: f.layout }, o);
      },
      [fig, size, RANDOM_SEED] as const,
    ),
  );
  const comma = url.indexOf(',');
  if (format === 'png') return stripPngMetadata(Buffer.from(url.slice(comma + 1), 'base64'));
  return sortSvgAttributes(decodeURIComponent(url.slice(comma + 1)));
}

/**
 * The SVG with every element's attributes in name order. plotly.js sets attributes in an order
 * that depends on what the page drew before (the first figure's legend box gets `style` last,
 * later ones first), so the same figure serialised differently after another one.
 */
export function sortSvgAttributes(svg: string): string {
  // XMLSerializer writes attributes as name="value" with `"` escaped inside values.
  return svg.replace(/<([A-Za-z][\w:.-]*)((?:\s+[^\s=/>]+="[^"]*")+)(\s*\/?)>/g, (_, name: string, attrs: string, close: string) => {
    const list = [...attrs.matchAll(/\s+([^\s=/>]+)="([^"]*)"/g)].map((m) => `${m[1]}="${m[2]}"`);
    const byName = (a: string) => a.slice(0, a.indexOf('='));
    list.sort((a, b) => (byName(a) < byName(b) ? -1 : byName(a) > byName(b) ? 1 : 0));
    return `<${name} ${list.join(' ')}${close.trim()}>`;
  });
}

// plotly.js names its SVG defs, clip paths and traces with Math.random() ids ("clip53f1fdxy"),
// so the same figure gave a different SVG on every run and every export showed up in git. The
// page's Math.random is a seeded generator (mulberry32), re-seeded before each rendering:
// ids then depend only on the figure. Installed before plotly.js loads.
const RANDOM_SEED = 20200626;
const SEEDED_RANDOM = `(() => {
  let s = 0;
  Math.random = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  globalThis.__satSeedRandom = (seed) => { s = seed | 0; };
})();`;

// PNG chunks that carry no pixels and may carry a time or the encoder's name: dropped, so that a
// file changes only when its picture does (Chromium writes none today; this keeps it so).
const PNG_METADATA_CHUNKS = new Set(['tIME', 'tEXt', 'zTXt', 'iTXt', 'eXIf']);

/** The PNG without time and text chunks (the pixels and colour chunks stay as they are). */
export function stripPngMetadata(png: Buffer): Buffer {
  const SIGNATURE = 8;
  if (png.length < SIGNATURE || png.readUInt32BE(0) !== 0x89504e47) throw new Error('stripPngMetadata: not a PNG file');
  const kept: Buffer[] = [png.subarray(0, SIGNATURE)];
  let at = SIGNATURE;
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const end = at + 12 + length; // length, type, data, CRC
    if (end > png.length) throw new Error(`stripPngMetadata: chunk at byte ${at} runs past the end of the file`);
    if (!PNG_METADATA_CHUNKS.has(png.toString('latin1', at + 4, at + 8))) kept.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(kept);
}

/** Plotly's own check of a spec: a list of problems (unknown attributes, bad values), empty when valid. */
export async function validateFigure(fig: Figure): Promise<string[]> {
  assertFigure(fig);
  const errors = await withPage((page) =>
    page.evaluate((f) => {
      const result = (globalThis as unknown as PlotlyGlobal).Plotly.validate(f.data, f.layout) ?? [];
      return result.map((e) => e.msg);
    }, fig),
  );
  return errors;
}

/**
 * Writes `<dir>/<name>.svg` and `<dir>/<name>.png` (PNG at 2x); returns their paths. The default
 * folder is SAT_FIGURES_DIR, else the project's figures/, wherever the process runs.
 */
export async function exportFigure(fig: Figure, name: string, dir = process.env.SAT_FIGURES_DIR ?? path.join(projectRoot(), 'figures'), opts: RenderOptions = {}): Promise<{ svg: string; png: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`exportFigure: name '${name}' must be a plain file name (letters, digits, '_', '.', '-'), without a folder or extension`);
  }
  const folder = path.resolve(dir);
  mkdirSync(folder, { recursive: true });
  const svg = await renderFigure(fig, 'svg', opts);
  const png = await renderFigure(fig, 'png', { scale: 2, ...opts });
  const files = { svg: path.join(folder, `${name}.svg`), png: path.join(folder, `${name}.png`) };
  writeFileSync(files.svg, svg);
  writeFileSync(files.png, png);
  return files;
}

/**
 * exportFigure into the default folder, then says where the figure went. For notebooks: it
 * returns nothing, so a cell that ends with it shows no value.
 */
export async function saveFigure(fig: Figure, name: string): Promise<void> {
  const out = await exportFigure(fig, name);
  console.log(`figure saved: ${path.relative(process.cwd(), out.svg)} (+ .png)`);
}

export function assertFigure(fig: unknown): asserts fig is Figure {
  const f = fig as Figure | undefined;
  if (!f || !Array.isArray(f.data) || typeof f.layout !== 'object' || f.layout === null) {
    throw new Error('expected a figure { data: [...traces], layout: {...} }, e.g. from lineChart(...); got ' + typeof fig);
  }
}

interface PlotlyGlobal {
  __satSeedRandom(seed: number): void;
  Plotly: {
    toImage(fig: { data: unknown; layout: unknown }, opts: { format: string; width: number; height: number; scale: number }): Promise<string>;
    validate(data: unknown, layout: unknown): { msg: string }[] | undefined;
  };
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && v > 0 ? v : fallback;
}

/** Runs one job on the shared page, one job at a time, then arms the idle close. */
function withPage<T>(job: (page: Page) => Promise<T>): Promise<T> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  pending++;
  const run = queue.then(async () => {
    try {
      const { page } = await openSession();
      return await job(page);
    } catch (e) {
      await closeRenderer(); // a crashed page or browser must not poison later renders
      throw e;
    }
  });
  queue = run.catch(() => undefined).finally(() => {
    if (--pending === 0) armIdleClose();
  });
  return run;
}

function armIdleClose(): void {
  if (!session) return;
  idleTimer = setTimeout(() => void closeRenderer(), idleMs ?? (inNotebook() ? 120_000 : 2_000));
  idleTimer.unref(); // the browser's pipe keeps a script alive, not this timer
}

function openSession(): Promise<Session> {
  session ??= launch();
  return session;
}

async function launch(): Promise<Session> {
  const executablePath = findChromium();
  if (!executablePath || !existsSync(executablePath)) {
    throw new Error(
      `no Chromium for static figure export (looked at ${executablePath ?? CHROMIUM_CANDIDATES.join(', ')}): ` +
        'install it (Debian/Ubuntu: apt-get install chromium) or set SAT_CHROMIUM to a Chrome/Chromium executable',
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS, timeout: 60_000 });
  try {
    const page = await browser.newPage();
    await page.route('**/*', (route) => route.abort()); // offline by construction: nothing loads from a network
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ content: SEEDED_RANDOM });
    await page.addScriptTag({ path: require.resolve('plotly.js-dist-min') });
    // One throw-away rendering with text: in a test on a busy machine the first PNG a fresh
    // browser made once came out a few bytes different from later ones (fonts being set up,
    // we think), and every saved notebook's first figure would then change between runs.
    await page.evaluate(() =>
      (globalThis as unknown as PlotlyGlobal).Plotly.toImage({ data: [{ type: 'scatter', x: [0, 1], y: [0, 1], name: 'warm-up' }], layout: { title: { text: 'warm-up' } } }, { format: 'png', width: 300, height: 200, scale: 1 }),
    );
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
