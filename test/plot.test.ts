import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import {
  PLOTLY_MIME,
  barChart,
  closeRenderer,
  exportFigure,
  figureBundle,
  imageGrid,
  lineChart,
  logTicks,
  scalingFigure,
  scatterChart,
  show,
  stripPngMetadata,
  validateFigure,
  type Figure,
} from '../lib/plot';

const line = () =>
  lineChart({
    title: 'Softplus',
    xTitle: 'x',
    yTitle: 'f(x)',
    series: [
      { name: 'relu', x: [-1, 0, 1], y: [0, 0, 1], dash: 'dash' },
      { name: 'softplus', x: new Float32Array([-1, 0, 1]), y: new Float32Array([0.31, 0.69, 1.31]), errors: [0.1, 0.1, 0.1] },
    ],
  });
const bars = () =>
  barChart({
    title: 'Robust accuracy',
    categories: ['relu', 'silu'],
    series: [
      { name: 'clean', values: [0.9, 0.92], errors: [0.01, 0.02] },
      { name: 'PGD-10', values: [0.4, 0.5], errors: [0.03, 0.01] },
    ],
  });
const scatter = () =>
  scatterChart({
    xTitle: 'clean',
    yTitle: 'robust',
    points: [
      { x: 0.9, y: 0.4, label: 'relu', group: 'non-smooth' },
      { x: 0.92, y: 0.5, label: 'silu', group: 'smooth' },
      { x: 0.91, y: 0.48, label: 'gelu', group: 'smooth' },
    ],
  });
const gray = Array.from({ length: 8 }, (_, y) => Array.from({ length: 6 }, (_, x) => (x + y) / 12));
const images = () =>
  imageGrid({
    title: 'PGD',
    panels: [
      { title: 'clean', image: gray, caption: 'pred 3' },
      { title: 'perturbation', mode: 'signed', image: { data: Float32Array.from({ length: 48 }, (_, i) => (i % 2 ? 0.03 : -0.01)), shape: [8, 6, 1] } },
      { title: 'rgb', image: { data: Float32Array.from({ length: 4 * 4 * 3 }, (_, i) => (i % 3) / 2), shape: [1, 4, 4, 3] } },
    ],
  });

describe('plot: figure builders', () => {
  it('lineChart: one scatter trace per series, typed arrays copied to plain JSON, axis titles', () => {
    const fig = line();
    assert.equal(fig.data.length, 2);
    assert.deepEqual(fig.data.map((t) => [t.type, t.name]), [['scatter', 'relu'], ['scatter', 'softplus']]);
    assert.ok(Array.isArray(fig.data[1].y), 'Float32Array must become a plain array');
    assert.deepEqual(fig.data[1].y, [0.31, 0.69, 1.31].map((v) => Math.fround(v)));
    assert.deepEqual((fig.data[1].error_y as { array: number[] }).array, [0.1, 0.1, 0.1]);
    assert.equal((fig.layout.xaxis as { title: { text: string } }).title.text, 'x');
    assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig, 'a figure must survive JSON unchanged');
  });

  it('lineChart: x defaults to 0..n-1 and NaN becomes null (a gap)', () => {
    const fig = lineChart({ series: [{ name: 'loss', y: [1, NaN, 0.5] }] });
    assert.deepEqual(fig.data[0].x, [0, 1, 2]);
    assert.deepEqual(fig.data[0].y, [1, null, 0.5]);
  });

  it('bar error bars can differ up and down (an interval clipped at 0 or 100%)', () => {
    const fig = barChart({ categories: ['a', 'b'], series: [{ name: 's', values: [95, 50], errors: [5, 3], errorsMinus: [8, 3] }] });
    assert.deepEqual(fig.data[0].error_y, { type: 'data', array: [5, 3], visible: true, symmetric: false, arrayminus: [8, 3] });
    assert.deepEqual(bars().data[0].error_y, { type: 'data', array: [0.01, 0.02], visible: true }, 'symmetric without errorsMinus');
    assert.throws(() => barChart({ categories: ['a'], series: [{ name: 's', values: [1], errors: [1], errorsMinus: [1, 2] }] }), /\(down\) has 2 errors for 1 values/);
  });

  it('rejects bad input with errors that name the series and the fix', () => {
    assert.throws(() => lineChart({ series: [{ name: 'a', x: [1, 2], y: [1] }] }), /series 0 \('a'\) has 2 x values but 1 y values/);
    assert.throws(() => lineChart({ series: [] }), /series is empty/);
    assert.throws(() => barChart({ categories: ['a', 'b'], series: [{ name: 's', values: [1] }] }), /1 values for 2 categories/);
    assert.throws(() => barChart({ categories: ['a'], series: [{ name: 's', values: [1], errors: [1, 2] }] }), /2 errors for 1 values/);
    assert.throws(() => scatterChart({ points: [{ x: 1 } as never] }), /point 0 needs numeric x and y/);
    assert.throws(() => imageGrid({ panels: [{ title: 't', image: { data: [1, 2, 3], shape: [2, 2] } }] }), /data has 3 values but shape \[2,2\] needs 4/);
    assert.throws(() => imageGrid({ panels: [{ title: 't', image: { data: new Float32Array(8), shape: [2, 2, 2] } }] }), /2 channels/);
    assert.throws(() => imageGrid({ panels: [{ title: 't', image: { data: new Float32Array(8), shape: [2, 1, 2, 2] } }] }), /not a batch/);
  });

  it('barChart: grouped bars with error bars per category', () => {
    const fig = bars();
    assert.equal(fig.layout.barmode, 'group');
    assert.deepEqual(fig.data.map((t) => t.x), [['relu', 'silu'], ['relu', 'silu']]);
    assert.deepEqual((fig.data[1].error_y as { array: number[] }).array, [0.03, 0.01]);
  });

  it('scatterChart: one trace per group, labels as text', () => {
    const fig = scatter();
    assert.deepEqual(fig.data.map((t) => t.name), ['non-smooth', 'smooth']);
    assert.deepEqual(fig.data[1].text, ['silu', 'gelu']);
    assert.equal(fig.data[1].mode, 'markers+text');
    const ticks = scatterChart({ points: [{ x: 0.1, y: 1 }, { x: 1.1, y: 2 }], xTickValues: [0, 1] }).layout.xaxis as { tickvals: number[]; ticktext: string[] };
    assert.deepEqual([ticks.tickvals, ticks.ticktext], [[0, 1], ['0', '1']], 'exactly the given ticks');
  });

  it('imageGrid: gray heatmap in range, symmetric diverging perturbation, RGB as 0-255, disjoint panels', () => {
    const fig = images();
    const [clean, delta, rgb] = fig.data;
    assert.equal(clean.type, 'heatmap');
    assert.deepEqual([clean.zmin, clean.zmax], [0, 1]);
    assert.equal((clean.z as number[][]).length, 8, 'rows = image height');
    assert.equal((clean.z as number[][])[0].length, 6, 'columns = image width');
    assert.equal(delta.type, 'heatmap');
    assert.deepEqual([delta.zmin, delta.zmax], [-Math.fround(0.03), Math.fround(0.03)], "scaled to the largest |value|");
    assert.equal(rgb.type, 'image');
    assert.deepEqual((rgb.z as number[][][])[0][0], [0, 128, 255]);
    const domains = [1, 2, 3].map((k) => (fig.layout[`xaxis${k === 1 ? '' : k}`] as { domain: number[] }).domain);
    for (let k = 1; k < domains.length; k++) assert.ok(domains[k][0] > domains[k - 1][1], 'panels must not overlap');
    for (const d of domains) assert.ok(d[0] >= 0 && d[1] <= 1);
    const titles = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
    assert.deepEqual(titles, ['clean', 'pred 3', 'perturbation', 'rgb']);
  });

  it('figureBundle: plotly mime plus PNG and text, without plotly.js itself', () => {
    const fig = line();
    const bundle = figureBundle(fig, { png: Buffer.from([137, 80, 78, 71]) });
    assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, 'image/png', 'text/plain'].sort());
    assert.deepEqual((bundle[PLOTLY_MIME] as Figure).data, fig.data);
    assert.equal(bundle['image/png'], 'iVBORw==');
    assert.match(String(bundle['text/plain']), /Figure "Softplus": 2 trace\(s\) \[relu, softplus\]/);
    assert.ok(JSON.stringify(bundle).length < 10_000, 'the bundle holds the spec, not the plotly library');
  });

  it('show() outside a notebook prints a description instead of displaying', async () => {
    const logged: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logged.push(args.join(' '));
    try {
      await show(line());
    } finally {
      console.log = original;
    }
    assert.match(logged.join('\n'), /Figure "Softplus".*exportFigure/);
  });

  it('growth lines: each axis starts at the base model, one colour per axis, one dash per series, log ticks that read as numbers', () => {
    assert.deepEqual(logTicks(0.3, 40), [0.2, 0.5, 1, 2, 5, 10, 20, 50]);
    assert.throws(() => logTicks(0, 1), /need 0 < min <= max/);
    const fig = scalingFigure({
      title: 't', xTitle: 'MACs', yTitle: '%', allName: 'depth + width',
      points: [
        { axis: 'base', x: 1, y: 50, series: 'ReLU', error: 2 },
        { axis: 'depth', x: 4, y: 48, series: 'ReLU' },
        { axis: 'depth', x: 2, y: 52, series: 'ReLU' },
        { axis: 'all', x: 9, y: 55, series: 'ReLU' },
        { axis: 'base', x: 1, y: 51, series: 'SiLU' },
        { axis: 'depth', x: 2, y: 53, series: 'SiLU' },
      ],
    });
    assert.deepEqual(fig.data.map((t) => t.name), ['ReLU: depth', 'ReLU: depth + width', 'SiLU: depth']);
    assert.deepEqual(fig.data[0].x, [1, 2, 4], 'from the base, in order of x');
    assert.deepEqual((fig.data[0].error_y as { array: number[] }).array, [2, 0, 0]);
    assert.equal(fig.data[2].error_y, undefined, 'no bars where no point has one');
    const line = (i: number) => fig.data[i].line as { color: string; dash: string };
    assert.notEqual(line(0).color, line(1).color);
    assert.deepEqual([line(0).color, line(0).dash, line(2).dash], [line(2).color, 'solid', 'dash']);
    assert.deepEqual((fig.layout.xaxis as { tickvals: number[] }).tickvals, logTicks(1, 9));
  });
});

describe('plot: rendering in headless Chromium', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sat-plot-'));
  });
  after(async () => {
    await closeRenderer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every builder produces a spec that plotly.js validates without complaints', async () => {
    for (const [name, fig] of Object.entries({ line: line(), bars: bars(), scatter: scatter(), images: images() })) {
      assert.deepEqual(await validateFigure(fig), [], `${name} figure`);
    }
    // and the check itself catches a wrong attribute
    const bad = line();
    bad.data[0].mode = 'not-a-mode';
    assert.ok((await validateFigure(bad)).length > 0);
  });

  it('exportFigure writes a real SVG and PNG (right size, not blank)', async () => {
    const files = await exportFigure(bars(), 'bars', dir, { width: 500, height: 300 });
    assert.deepEqual(files, { svg: path.join(dir, 'bars.svg'), png: path.join(dir, 'bars.png') });
    const svg = readFileSync(files.svg, 'utf8');
    assert.match(svg, /^<svg[^>]*height="300"[^>]*width="500"/); // attributes in name order
    assert.match(svg, /Robust accuracy/);
    assert.ok(statSync(files.svg).size > 3000, 'the SVG must hold the drawing');
    const png = PNG.sync.read(readFileSync(files.png));
    assert.deepEqual([png.width, png.height], [1000, 600], 'PNG at 2x');
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    assert.ok(coloured / (png.width * png.height) > 0.05, `bars must be drawn in colour (got ${coloured} coloured pixels)`);
  });

  it('the same figure gives byte-identical SVG and PNG files every time (no random ids, no PNG metadata)', async () => {
    const first = await exportFigure(line(), 'again', path.join(dir, 'first'));
    await exportFigure(images(), 'other', path.join(dir, 'first')); // another rendering in between
    const second = await exportFigure(line(), 'again', path.join(dir, 'second'));
    const svg = readFileSync(first.svg, 'utf8');
    assert.match(svg, /clip[0-9a-f]{6}xyplot/, "plotly's generated ids are there (the test would see them change)");
    assert.equal(readFileSync(second.svg, 'utf8'), svg);
    assert.ok(readFileSync(second.png).equals(readFileSync(first.png)), 'PNG bytes differ between two renderings');
    assert.deepEqual(pngChunkTypes(readFileSync(first.png)).filter((t) => !['IHDR', 'IDAT', 'IEND'].includes(t)), []);
  });

  it('stripPngMetadata drops time and text chunks and keeps the picture', () => {
    const png = PNG.sync.write(Object.assign(new PNG({ width: 2, height: 2 }), { data: Buffer.alloc(16, 200) }));
    const chunk = (type: string, body: string) => {
      const b = Buffer.alloc(12 + body.length);
      b.writeUInt32BE(body.length, 0);
      b.write(type + body, 4, 'latin1'); // CRC left zero: the strip does not read it
      return b;
    };
    const ihdrEnd = 8 + 12 + 13;
    const stamped = Buffer.concat([png.subarray(0, ihdrEnd), chunk('tIME', '\x07\xea\x0b\x1e\x11\x08\x2b'), chunk('tEXt', 'Software\0x'), png.subarray(ihdrEnd)]);
    assert.deepEqual(pngChunkTypes(stamped).slice(0, 3), ['IHDR', 'tIME', 'tEXt']);
    assert.ok(stripPngMetadata(stamped).equals(png));
    assert.throws(() => stripPngMetadata(Buffer.from('GIF89a')), /not a PNG/);
  });

  it('exportFigure rejects names that are paths', async () => {
    await assert.rejects(exportFigure(line(), '../escape', dir), /plain file name/);
  });
});

function pngChunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) types.push(png.toString('latin1', at + 4, at + 8));
  return types;
}
