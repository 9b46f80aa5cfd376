// The figure type shared by the builders, the notebook display and the static export: a plain,
// JSON-serialisable plotly spec. Plotly's own type package is not a dependency, so traces and
// layouts are open records; the builders are what give them shape.

/** One plotly trace (`scatter`, `bar`, `heatmap`, `image`, ...). */
export type Trace = { type: string } & Record<string, unknown>;

/** A plotly layout object. */
export type Layout = Record<string, unknown>;

/** A plotly figure: what `Plotly.newPlot(div, data, layout)` takes. */
export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** Numbers from plain arrays, typed arrays (`tensor.dataSync()`) or anything array-like. */
export type Numbers = ArrayLike<number>;

/** Options every builder accepts. */
export interface FigureOptions {
  title?: string;
  /** Pixel size used by the static export and the notebook's fallback image. */
  width?: number;
  height?: number;
}

export const DEFAULT_WIDTH = 720;
export const DEFAULT_HEIGHT = 440;

/**
 * Copies numbers into a plain array (typed arrays serialise to `{"0": ...}` in JSON) and turns
 * non-finite values into `null`, which plotly draws as a gap and JSON keeps.
 */
export function toNumbers(values: Numbers, what: string): (number | null)[] {
  if (values == null || typeof values.length !== 'number') {
    throw new Error(`${what}: expected an array of numbers, got ${describeValue(values)}`);
  }
  const out: (number | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') {
      throw new Error(`${what}: element ${i} is ${describeValue(v)}, not a number`);
    }
    out[i] = Number.isFinite(v) ? v : null;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === 'object' ? `an object (${Object.prototype.toString.call(v)})` : `${typeof v} ${String(v)}`;
}

/** Axis layout with a title; `log` switches to a log axis. */
export function axis(title: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(title ? { title: { text: title } } : {}), automargin: true, ...extra };
}

/** The layout fields every chart shares: title, size, margins, legend. */
export function baseLayout(opts: FigureOptions): Layout {
  return {
    ...(opts.title ? { title: { text: opts.title, x: 0.5, xanchor: 'center' } } : {}),
    width: opts.width ?? DEFAULT_WIDTH,
    height: opts.height ?? DEFAULT_HEIGHT,
    margin: { l: 70, r: 30, t: opts.title ? 70 : 30, b: 60 },
    legend: { orientation: 'v' },
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
  };
}

/** Throws when a list that needs at least one entry is empty. */
export function requireNonEmpty<T>(items: readonly T[] | undefined, what: string, hint: string): readonly T[] {
  if (!Array.isArray(items) || items.length === 0) {
    throw new Error(`${what} is empty: ${hint}`);
  }
  return items;
}

/** A one-line description of a figure, used as the `text/plain` part of a display. */
export function describeFigure(fig: Figure): string {
  const layoutTitle = fig.layout.title as { text?: string } | string | undefined;
  const title = typeof layoutTitle === 'string' ? layoutTitle : layoutTitle?.text;
  const names = fig.data.map((t) => (typeof t.name === 'string' ? t.name : t.type));
  const shown = names.length > 6 ? [...names.slice(0, 6), '...'] : names;
  return `Figure${title ? ` "${title}"` : ''}: ${fig.data.length} trace(s)${shown.length ? ` [${shown.join(', ')}]` : ''}`;
}
