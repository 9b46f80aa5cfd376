// Models growing along axes (depth, width, resolution, all of them) drawn as lines from the base
// model: one colour per axis, one dash style per series (clean and robust, or ReLU and SiLU).
import { lineChart, logTicks } from './charts';
import type { Figure } from './figure';

/** The axes a family of models grows along, and the colour each is drawn in. */
export const AXIS_COLORS = {
  base: '#444444', depth: '#1f77b4', width: '#ff7f0e', resolution: '#2ca02c', all: '#d62728', efficientnet: '#9467bd',
} as const;
export type GrowthAxis = keyof typeof AXIS_COLORS;

const DASHES = ['solid', 'dash', 'dot', 'dashdot'] as const;

export interface AxisPoint {
  axis: GrowthAxis;
  x: number;
  y: number;
  /** What is measured or who measured it, e.g. 'PGD-50' or 'SiLU'; one dash style per series. */
  series: string;
  /** Half-width of the point's 95% confidence interval (drawn as an error bar); absent: no bar. */
  error?: number;
}

/**
 * One line per (series, axis) from the base model through the models scaled along that axis,
 * in order of x; colour says the axis, dash the series. EfficientNet points form their own line.
 */
export function scalingFigure(opts: {
  title: string; xTitle: string; yTitle: string; points: AxisPoint[]; logX?: boolean; width?: number; height?: number;
  /** Legend name of the 'all' axis: the paper's grows depth, width and resolution ('all three', the default); ours depth and width. */
  allName?: string;
}): Figure {
  const seriesNames = [...new Set(opts.points.map((p) => p.series))];
  const axes: GrowthAxis[] = ['depth', 'width', 'resolution', 'all', 'efficientnet'];
  const lines = seriesNames.flatMap((series, si) =>
    axes.flatMap((axis) => {
      const base = axis === 'efficientnet' ? [] : opts.points.filter((p) => p.series === series && p.axis === 'base');
      const along = opts.points.filter((p) => p.series === series && p.axis === axis);
      if (along.length === 0) return [];
      const pts = [...base, ...along].sort((a, b) => a.x - b.x);
      const errors = pts.some((p) => p.error !== undefined) ? { errors: pts.map((p) => p.error ?? 0) } : {};
      return [{ name: `${series}: ${axis === 'all' ? opts.allName ?? 'all three' : axis}`, x: pts.map((p) => p.x), y: pts.map((p) => p.y), color: AXIS_COLORS[axis], dash: DASHES[si % DASHES.length], markers: true, ...errors }];
    }),
  );
  const logX = opts.logX ?? true;
  const xs = opts.points.map((p) => p.x);
  return lineChart({
    title: opts.title, xTitle: opts.xTitle, yTitle: opts.yTitle, series: lines, logX, width: opts.width ?? 900, height: opts.height ?? 560,
    ...(logX ? { xTickValues: logTicks(Math.min(...xs), Math.max(...xs)) } : {}),
  });
}
