// Activations as points of a scatter: one trace per activation and group (ours: circles, the
// paper's: diamonds; the reference, ReLU, larger with an outline), named in the legend rather
// than by text labels so that no label overlaps another; 95% intervals as error bars.
import { boundedInterval, type Summary } from '../report/stats';
import { scatterChart } from './charts';
import type { Figure } from './figure';

/** One colour per activation, the same for ours and the paper's (the official forms share their activation's). */
const ACTIVATION_COLORS: Record<string, string> = {
  relu: '#000000', softplus: '#8c564b', 'psoftplus:10': '#e377c2', smoothrelu: '#2ca02c', 'smoothrelu-learnable': '#2ca02c', elu: '#ff7f0e',
  gelu: '#9467bd', 'gelu-tanh': '#9467bd', silu: '#d62728',
};

/** A 95% interval as an error bar in points, up and down from the mean. */
export interface ErrorBar { plus: number; minus: number; clipped: boolean }

/**
 * The 95% interval of `s` as a bar in points, kept within `bounds` (accuracies [0, 1];
 * differences of accuracies [-1, 1]); undefined without an interval (the title says why).
 */
export function errorBar(s: Summary | undefined, bounds: [number, number] = [0, 1]): ErrorBar | undefined {
  if (!s || s.note || !Number.isFinite(s.ciLow)) return undefined;
  const b = boundedInterval(s, ...bounds);
  return { plus: 100 * (b.high - s.mean), minus: 100 * (s.mean - b.low), clipped: b.clippedLow || b.clippedHigh };
}

export interface ActivationMark { activation: string; x: number; y: number; ex?: ErrorBar; ey?: ErrorBar }

export interface ActivationGroup { name: string; symbol: 'circle' | 'diamond'; points: ActivationMark[] }

/**
 * Activations as points, one legend entry each, named by `nameOf` (report's displayName); a bar
 * clipped at an accuracy's bound says so in the legend.
 */
export function activationScatter(title: string, xTitle: string, yTitle: string, groups: ActivationGroup[], nameOf: (activation: string) => string): Figure {
  const marks = groups.flatMap((g) => g.points.map((p) => ({ ...p, group: g.name, symbol: g.symbol })));
  const clipped = (m: ActivationMark) => (m.ex?.clipped || m.ey?.clipped ? ' (CI clipped to 0-100%)' : '');
  const fig = scatterChart({ title, points: marks.map((m) => ({ x: m.x, y: m.y, group: `${m.group}: ${nameOf(m.activation)}${m.activation === 'relu' ? ' (reference)' : ''}${clipped(m)}` })), xTitle, yTitle, width: 900, height: 640 });
  fig.data.forEach((trace, i) => {
    const m = marks[i];
    const relu = m.activation === 'relu';
    const color = ACTIVATION_COLORS[m.activation] ?? '#7f7f7f';
    trace.marker = { size: relu ? 15 : 11, symbol: m.symbol, color, line: relu ? { color: '#000000', width: 2 } : { width: 0 } };
    if (m.ex !== undefined) trace.error_x = { type: 'data', symmetric: false, array: [m.ex.plus], arrayminus: [m.ex.minus], visible: true, color };
    if (m.ey !== undefined) trace.error_y = { type: 'data', symmetric: false, array: [m.ey.plus], arrayminus: [m.ey.minus], visible: true, color };
  });
  fig.layout.showlegend = true;
  fig.layout.legend = { orientation: 'v', x: 1.02, y: 1 };
  return fig;
}

/** Dotted axes through the origin (where the reference sits in a difference plot). */
export function originAxes(fig: Figure): Figure {
  fig.layout.shapes = [
    { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: 0, y1: 0, line: { color: 'gray', dash: 'dot', width: 1 } },
    { type: 'line', yref: 'paper', y0: 0, y1: 1, xref: 'x', x0: 0, x1: 0, line: { color: 'gray', dash: 'dot', width: 1 } },
  ];
  return fig;
}
