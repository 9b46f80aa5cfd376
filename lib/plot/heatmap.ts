// Heat maps side by side with one shared colour scale (a value has the same colour in every
// panel, so panels can be compared by eye): e.g. 2-D loss landscapes of ReLU and SiLU models.
import { axis, baseLayout, requireNonEmpty, toNumbers, type Figure, type FigureOptions, type Numbers } from './figure';

export interface HeatmapPanel {
  title: string;
  x: Numbers;
  y: Numbers;
  /** z[i][j] at (x[j], y[i]). */
  z: Numbers[];
}

export interface HeatmapGridOptions extends FigureOptions {
  panels: HeatmapPanel[];
  xTitle?: string;
  yTitle?: string;
  colorTitle?: string;
  /** The shared colour range (default: min and max over every panel). */
  zRange?: [number, number];
}

export function heatmapGrid(opts: HeatmapGridOptions): Figure {
  const panels = requireNonEmpty(opts?.panels, 'heatmapGrid: panels', 'give at least one { title, x, y, z } panel');
  const zs = panels.map((p, i) => {
    const x = toNumbers(p.x, `heatmapGrid: panel ${i} x`);
    const y = toNumbers(p.y, `heatmapGrid: panel ${i} y`);
    if (p.z.length !== y.length) throw new Error(`heatmapGrid: panel ${i} ('${p.title}') has ${p.z.length} rows of z for ${y.length} y values: give one row per y`);
    const z = p.z.map((row, r) => {
      const v = toNumbers(row, `heatmapGrid: panel ${i} z row ${r}`);
      if (v.length !== x.length) throw new Error(`heatmapGrid: panel ${i} ('${p.title}') z row ${r} has ${v.length} values for ${x.length} x values`);
      return v;
    });
    return { x, y, z };
  });
  const all = zs.flatMap((p) => p.z.flat()).filter((v): v is number => v !== null);
  const [cmin, cmax] = opts.zRange ?? [Math.min(...all), Math.max(...all)];
  const n = panels.length;
  const data = zs.map((p, i) => ({
    type: 'heatmap', name: panels[i].title, x: p.x, y: p.y, z: p.z, coloraxis: 'coloraxis',
    xaxis: i === 0 ? 'x' : `x${i + 1}`, yaxis: i === 0 ? 'y' : `y${i + 1}`,
  }));
  const axes: Record<string, unknown> = {};
  panels.forEach((p, i) => {
    const s = i === 0 ? '' : `${i + 1}`;
    axes[`xaxis${s}`] = axis(opts.xTitle, { domain: [i / n + 0.02, (i + 1) / n - 0.02], anchor: `y${s}` });
    axes[`yaxis${s}`] = axis(i === 0 ? opts.yTitle : undefined, { anchor: `x${s}` });
  });
  return {
    data,
    layout: {
      ...baseLayout(opts),
      ...axes,
      coloraxis: { cmin, cmax, colorscale: 'Viridis', colorbar: opts.colorTitle ? { title: { text: opts.colorTitle } } : {} },
      annotations: panels.map((p, i) => ({ text: p.title, showarrow: false, xref: 'paper', yref: 'paper', x: (i + 0.5) / n, y: 1.02, xanchor: 'center', yanchor: 'bottom' })),
      showlegend: false,
    },
  };
}
