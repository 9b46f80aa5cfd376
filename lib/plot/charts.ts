// Chart builders: pure functions from data to plotly specs (no rendering, no I/O).
import {
  axis,
  baseLayout,
  describeValue,
  requireNonEmpty,
  toNumbers,
  type Figure,
  type FigureOptions,
  type Numbers,
} from './figure';

export interface LineSeries {
  name: string;
  /** Defaults to 0, 1, 2, ... */
  x?: Numbers;
  y: Numbers;
  /** Symmetric error band half-widths, drawn as error bars. */
  errors?: Numbers;
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
  color?: string;
  /** Draw point markers as well as the line. */
  markers?: boolean;
}

export interface LineChartOptions extends FigureOptions {
  series: LineSeries[];
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  /** Label exactly these x values (e.g. PGD step counts on a log axis, whose default minor labels read "2, 5"). */
  xTickValues?: number[];
  logY?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracies. */
  yRange?: [number, number];
}

/** Lines, one per series: activation curves, loss curves, accuracy against eps. */
export function lineChart(opts: LineChartOptions): Figure {
  const series = requireNonEmpty(opts?.series, 'lineChart: series', 'give at least one { name, y } series');
  const data = series.map((s, i) => {
    const label = `lineChart: series ${i} ('${s.name}')`;
    const y = toNumbers(s.y, `${label} y`);
    const x = s.x === undefined ? y.map((_, j) => j) : toNumbers(s.x, `${label} x`);
    if (x.length !== y.length) {
      throw new Error(`${label} has ${x.length} x values but ${y.length} y values: give x and y of the same length`);
    }
    return withErrorBars(label, s.errors, {
      type: 'scatter',
      mode: s.markers ? 'lines+markers' : 'lines',
      name: s.name,
      x,
      y,
      line: { width: 2, ...(s.dash ? { dash: s.dash } : {}), ...(s.color ? { color: s.color } : {}) },
    });
  });
  return {
    data,
    layout: {
      ...baseLayout(opts),
      xaxis: axis(opts.xTitle, { ...(opts.logX ? { type: 'log' } : {}), ...(opts.xTickValues ? { tickvals: opts.xTickValues, ticktext: opts.xTickValues.map(String) } : {}) }),
      yaxis: axis(opts.yTitle, { ...(opts.logY ? { type: 'log' } : {}), ...(opts.yRange ? { range: opts.yRange } : {}) }),
      showlegend: data.length > 1,
    },
  };
}

export interface BarSeries {
  name: string;
  /** One value per category. */
  values: Numbers;
  /** Error bar half-widths (e.g. std over seeds), one per category; the upward ones when errorsMinus is given. */
  errors?: Numbers;
  /** Downward error bars, one per category, for intervals that are not symmetric (e.g. clipped at 0). */
  errorsMinus?: Numbers;
  color?: string;
}

export interface BarChartOptions extends FigureOptions {
  categories: string[];
  series: BarSeries[];
  xTitle?: string;
  yTitle?: string;
  yRange?: [number, number];
}

/** Grouped bars with optional error bars: accuracy per activation, mean ± std over seeds. */
export function barChart(opts: BarChartOptions): Figure {
  const categories = requireNonEmpty(opts?.categories, 'barChart: categories', 'give one label per bar group');
  const series = requireNonEmpty(opts.series, 'barChart: series', 'give at least one { name, values } series');
  const data = series.map((s, i) => {
    const label = `barChart: series ${i} ('${s.name}')`;
    const y = toNumbers(s.values, `${label} values`);
    if (y.length !== categories.length) {
      throw new Error(`${label} has ${y.length} values for ${categories.length} categories: give one value per category`);
    }
    return withErrorBars(label, s.errors, {
      type: 'bar',
      name: s.name,
      x: categories.map(String),
      y,
      ...(s.color ? { marker: { color: s.color } } : {}),
    }, s.errorsMinus);
  });
  return {
    data,
    layout: {
      ...baseLayout(opts),
      barmode: 'group',
      xaxis: axis(opts.xTitle, { type: 'category' }),
      yaxis: axis(opts.yTitle, opts.yRange ? { range: opts.yRange } : {}),
      showlegend: data.length > 1,
    },
  };
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** Text drawn next to the point, e.g. the activation's name. */
  label?: string;
  /** Points with the same group share a colour and a legend entry. */
  group?: string;
}

export interface ScatterChartOptions extends FigureOptions {
  points: ScatterPoint[];
  xTitle?: string;
  yTitle?: string;
  /** Label exactly these x values (e.g. the seeds, where points sit beside them). */
  xTickValues?: number[];
  xRange?: [number, number];
  yRange?: [number, number];
}

/** Labelled points, e.g. clean accuracy (x) against robust accuracy (y) per activation. */
export function scatterChart(opts: ScatterChartOptions): Figure {
  const points = requireNonEmpty(opts?.points, 'scatterChart: points', 'give at least one { x, y } point');
  const groups = new Map<string, ScatterPoint[]>();
  points.forEach((p, i) => {
    if (typeof p?.x !== 'number' || typeof p?.y !== 'number') {
      throw new Error(`scatterChart: point ${i} needs numeric x and y, got ${describeValue(p)}`);
    }
    const key = p.group ?? '';
    groups.set(key, [...(groups.get(key) ?? []), p]);
  });
  const data = [...groups].map(([group, ps]) => ({
    type: 'scatter',
    mode: ps.some((p) => p.label) ? 'markers+text' : 'markers',
    name: group || 'points',
    x: toNumbers(ps.map((p) => p.x), `scatterChart: group '${group}' x`),
    y: toNumbers(ps.map((p) => p.y), `scatterChart: group '${group}' y`),
    text: ps.map((p) => p.label ?? ''),
    textposition: 'top center',
    cliponaxis: false,
    marker: { size: 10 },
  }));
  return {
    data,
    layout: {
      ...baseLayout(opts),
      // Given ticks mark categories (seeds): no zero line through the first one.
      xaxis: axis(opts.xTitle, { ...(opts.xRange ? { range: opts.xRange } : {}), ...(opts.xTickValues ? { tickvals: opts.xTickValues, ticktext: opts.xTickValues.map(String), zeroline: false } : {}) }),
      yaxis: axis(opts.yTitle, opts.yRange ? { range: opts.yRange } : {}),
      showlegend: groups.size > 1,
    },
  };
}

/** The trace, with error bars (one half-width per y value, or up and down) when the series has errors. */
function withErrorBars(label: string, errors: Numbers | undefined, trace: Figure['data'][number] & { y: unknown[] }, errorsMinus?: Numbers): Figure['data'][number] {
  if (errors === undefined) return trace;
  const bars = errorBars(errors, trace.y.length, label);
  if (errorsMinus === undefined) return { ...trace, error_y: bars };
  return { ...trace, error_y: { ...bars, symmetric: false, arrayminus: errorBars(errorsMinus, trace.y.length, `${label} (down)`).array } };
}

function errorBars(errors: Numbers, n: number, label: string): Record<string, unknown> {
  const array = toNumbers(errors, `${label} errors`);
  if (array.length !== n) {
    throw new Error(`${label} has ${array.length} errors for ${n} values: give one error per value`);
  }
  return { type: 'data', array, visible: true };
}

/** Tick values 1, 2, 5 x 10^k covering [min, max]: log-axis labels that read as numbers. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0 && max >= min)) throw new Error(`logTicks: need 0 < min <= max, got ${min}, ${max}`);
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)) - 1; k <= Math.ceil(Math.log10(max)); k++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(1));
      if (v >= min / 1.5 && v <= max * 1.5) ticks.push(v);
    }
  }
  return ticks;
}
