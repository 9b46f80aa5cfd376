// imageGrid: images side by side (clean image, perturbation, adversarial image, ...), one
// subplot per panel with square pixels, a title above and an optional caption below.
import { describeValue, requireNonEmpty, type Figure, type FigureOptions, type Layout, type Numbers, type Trace } from './figure';

/** HxW (grayscale), HxWxC nested arrays, or flat data with its shape ([H,W], [H,W,C], [1,H,W,C]). */
export type ImageInput = number[][] | number[][][] | { data: Numbers; shape: readonly number[] };

export interface ImagePanel {
  title: string;
  image: ImageInput;
  /**
   * `image` (default): pixel values in the grid's `range`, drawn as gray or RGB.
   * `signed`: a perturbation, drawn with diverging colours centred on zero and scaled to its
   * largest magnitude (gray images get a colour bar; RGB ones map 0 to mid-gray).
   */
  mode?: 'image' | 'signed';
  /** Text below the panel, e.g. "pred 7 (p = 0.93)". */
  caption?: string;
}

export interface ImageGridOptions extends FigureOptions {
  panels: ImagePanel[];
  /** Panels per row; default all in one row, at most 4. */
  columns?: number;
  /** Size of one panel in pixels. */
  panelSize?: number;
  /** The value range of `image` panels; default [0, 1] as in our NHWC float batches. */
  range?: [number, number];
}

interface Pixels {
  h: number;
  w: number;
  c: number;
  at(y: number, x: number, ch: number): number;
}

const TITLE_PX = 30;
const CAPTION_PX = 24;
const GAP_PX = 16;
const COLORBAR_PX = 60;
const GRAY: [number, string][] = [[0, 'black'], [1, 'white']];
const DIVERGING: [number, string][] = [[0, '#b2182b'], [0.5, '#f7f7f7'], [1, '#2166ac']];

export function imageGrid(opts: ImageGridOptions): Figure {
  const panels = requireNonEmpty(opts?.panels, 'imageGrid: panels', 'give at least one { title, image } panel');
  const [lo, hi] = opts.range ?? [0, 1];
  if (!(hi > lo)) throw new Error(`imageGrid: range [${lo}, ${hi}] is empty: give [min, max] with max > min`);
  const columns = Math.max(1, Math.min(opts.columns ?? Math.min(panels.length, 4), panels.length));
  const rows = Math.ceil(panels.length / columns);
  const size = opts.panelSize ?? 200;
  const pixels = panels.map((p, i) => readImage(p?.image, `imageGrid: panel ${i} ('${p?.title}')`));
  const colorbarPx = panels.some((p, i) => p.mode === 'signed' && pixels[i].c === 1) ? COLORBAR_PX : 0;
  const cellW = size + GAP_PX + colorbarPx;
  const cellH = TITLE_PX + size + CAPTION_PX + GAP_PX;
  const plotW = columns * cellW;
  const plotH = rows * cellH;

  const data: Trace[] = [];
  const layout: Layout = {};
  const annotations: Record<string, unknown>[] = [];
  panels.forEach((panel, k) => {
    const px = pixels[k];
    const col = k % columns;
    const row = Math.floor(k / columns);
    const x0 = (col * cellW) / plotW;
    const x1 = (col * cellW + size) / plotW;
    const top = 1 - (row * cellH + TITLE_PX) / plotH;
    const bottom = top - size / plotH;
    const xName = k === 0 ? 'x' : `x${k + 1}`;
    const yName = k === 0 ? 'y' : `y${k + 1}`;
    data.push({ ...imageTrace(panel, px, lo, hi, x1, top, bottom, plotW), xaxis: xName, yaxis: yName });
    const hidden = { showticklabels: false, showgrid: false, zeroline: false, ticks: '', constrain: 'domain' };
    layout[`xaxis${k === 0 ? '' : k + 1}`] = { ...hidden, domain: [x0, x1], anchor: yName };
    layout[`yaxis${k === 0 ? '' : k + 1}`] = {
      ...hidden,
      domain: [bottom, top],
      anchor: xName,
      autorange: 'reversed',
      scaleanchor: xName,
    };
    const centre = (x0 + x1) / 2;
    annotations.push(note(panel.title, centre, top, 'bottom', 14));
    if (panel.caption) annotations.push(note(panel.caption, centre, bottom, 'top', 12));
  });
  const titleTop = opts.title ? 50 : 10;
  return {
    data,
    layout: {
      ...(opts.title ? { title: { text: opts.title, x: 0.5, xanchor: 'center' } } : {}),
      ...layout,
      annotations,
      showlegend: false,
      width: opts.width ?? plotW + 20,
      height: opts.height ?? plotH + titleTop + 10,
      margin: { l: 10, r: 10, t: titleTop, b: 10 },
      paper_bgcolor: 'white',
      plot_bgcolor: 'white',
    },
  };
}

function imageTrace(panel: ImagePanel, px: Pixels, lo: number, hi: number, x1: number, top: number, bottom: number, plotW: number): Trace {
  const signed = panel.mode === 'signed';
  if (signed) {
    let m = 0;
    for (let y = 0; y < px.h; y++) for (let x = 0; x < px.w; x++) for (let ch = 0; ch < px.c; ch++) m = Math.max(m, Math.abs(px.at(y, x, ch)));
    m = m > 0 ? m : 1; // an all-zero perturbation still needs a non-empty colour range
    if (px.c === 1) {
      return {
        type: 'heatmap',
        name: panel.title,
        z: grid(px, (y, x) => round(px.at(y, x, 0))),
        colorscale: DIVERGING,
        zmin: -m,
        zmax: m,
        showscale: true,
        colorbar: { x: x1 + 6 / plotW, xanchor: 'left', y: (top + bottom) / 2, len: top - bottom, thickness: 12 },
        hovertemplate: '(%{x}, %{y}): %{z:.4f}<extra></extra>',
      };
    }
    // RGB perturbation: 0 maps to mid-gray, +-m to the ends of each channel.
    return rgbTrace(panel.title, px, (v) => (v / m + 1) / 2);
  }
  if (px.c === 1) {
    return {
      type: 'heatmap',
      name: panel.title,
      z: grid(px, (y, x) => round(px.at(y, x, 0))),
      colorscale: GRAY,
      zmin: lo,
      zmax: hi,
      showscale: false,
      hovertemplate: '(%{x}, %{y}): %{z:.3f}<extra></extra>',
    };
  }
  return rgbTrace(panel.title, px, (v) => (v - lo) / (hi - lo));
}

/** A plotly `image` trace from unit-range values (clamped), as 0-255 RGB. */
function rgbTrace(name: string, px: Pixels, toUnit: (v: number) => number): Trace {
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, toUnit(v))));
  return {
    type: 'image',
    name,
    z: grid(px, (y, x) => [byte(px.at(y, x, 0)), byte(px.at(y, x, 1)), byte(px.at(y, x, 2))]),
    hovertemplate: '(%{x}, %{y}): %{z}<extra></extra>',
  };
}

function grid<T>(px: Pixels, f: (y: number, x: number) => T): T[][] {
  return Array.from({ length: px.h }, (_, y) => Array.from({ length: px.w }, (_, x) => f(y, x)));
}

function round(v: number): number | null {
  return Number.isFinite(v) ? Math.round(v * 1e5) / 1e5 : null;
}

function note(text: string, x: number, y: number, yanchor: 'top' | 'bottom', size: number): Record<string, unknown> {
  return { text, x, y, xref: 'paper', yref: 'paper', xanchor: 'center', yanchor, showarrow: false, font: { size } };
}

/** Reads the accepted image layouts into one accessor; channels must be 1 or 3. */
function readImage(image: ImageInput | undefined, what: string): Pixels {
  if (image == null) throw new Error(`${what}: image is missing: give an HxW or HxWxC array, or { data, shape }`);
  if (!Array.isArray(image)) {
    const { data, shape } = image as { data: Numbers; shape: readonly number[] };
    if (!data || !Array.isArray(shape)) throw new Error(`${what}: expected nested arrays or { data, shape }, got ${describeValue(image)}`);
    const dims = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : [...shape];
    if (dims.length !== 2 && dims.length !== 3) {
      throw new Error(`${what}: shape [${shape}] is not [H,W], [H,W,C] or [1,H,W,C]: pass one image, not a batch`);
    }
    const [h, w, c = 1] = dims;
    checkChannels(c, what);
    if (data.length !== h * w * c) throw new Error(`${what}: data has ${data.length} values but shape [${shape}] needs ${h * w * c}`);
    return { h, w, c, at: (y, x, ch) => data[(y * w + x) * c + ch] };
  }
  const h = image.length;
  const first = image[0];
  if (!h || !Array.isArray(first) || first.length === 0) throw new Error(`${what}: image has no pixels`);
  const w = first.length;
  const c = Array.isArray(first[0]) ? (first[0] as number[]).length : 1;
  checkChannels(c, what);
  for (const [y, row] of image.entries()) {
    if (!Array.isArray(row) || row.length !== w) throw new Error(`${what}: row ${y} has ${describeValue(row)}; every row needs ${w} pixels`);
  }
  const rows = image as unknown as (number | number[])[][];
  return c === 1 && !Array.isArray(first[0])
    ? { h, w, c, at: (y, x) => rows[y][x] as number }
    : { h, w, c, at: (y, x, ch) => (rows[y][x] as number[])[ch] };
}

function checkChannels(c: number, what: string): void {
  if (c !== 1 && c !== 3) throw new Error(`${what}: ${c} channels; images need 1 (gray) or 3 (RGB)`);
}
