// A progress bar for long loops. On a terminal it redraws one line; elsewhere (notebooks, CI
// logs) it prints a line at most every `intervalMs` and at the end, so output stays short.
export interface ProgressOptions {
  label: string;
  total: number;
  /** Items per step, for the rate (e.g. images per batch). */
  unit?: string;
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  quiet?: boolean;
}

export class Progress {
  private readonly start = Date.now();
  private lastPrint = 0;
  private readonly tty: boolean;
  private readonly stream: NodeJS.WriteStream;
  private items = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Reports `done` of `total` steps, `items` processed so far, and extra fields to show. */
  update(done: number, items: number, fields: Record<string, string | number> = {}): void {
    this.items = items;
    if (this.opts.quiet) return;
    const now = Date.now();
    const last = done >= this.opts.total;
    if (!last && now - this.lastPrint < (this.opts.intervalMs ?? (this.tty ? 200 : 10000))) return;
    this.lastPrint = now;
    const line = this.format(done, fields);
    if (this.tty) this.stream.write(`\r${line}\x1b[K${last ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }

  /** Items per second since the start. */
  rate(): number {
    return this.items / Math.max((Date.now() - this.start) / 1000, 1e-9);
  }

  private format(done: number, fields: Record<string, string | number>): string {
    const total = this.opts.total;
    const frac = total > 0 ? Math.min(done / total, 1) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : NaN;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`)
      .join(' | ');
    return `${this.opts.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} | ${extra}${extra ? ' | ' : ''}${this.rate().toFixed(1)} ${this.opts.unit ?? 'it'}/s | ${done >= total ? `took ${fmtTime(elapsed)}` : `ETA ${fmtTime(eta)}`}`;
  }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
