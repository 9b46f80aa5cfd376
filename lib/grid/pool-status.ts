// The local pool's status line, "k/N done, r running, f failed, w waiting | elapsed, ETA", and
// where it goes: redrawn in place on a terminal, printed now and then into a log, or nowhere.
import { fmtTime } from '../util/progress';

export interface PoolCounts {
  done: number;
  total: number;
  running: number;
  failed: number;
  waiting: number;
  /** Runs whose folder another process holds: taken up again when it lets go. */
  elsewhere: number;
  elapsedSeconds: number;
  /** Seconds left (NaN while unknown); not shown while stopping. */
  etaSeconds: number;
  stopping: boolean;
}

export function poolStatusLine(tag: string, s: PoolCounts): string {
  return (
    `${tag} ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed, ${s.waiting} waiting` +
    `${s.elsewhere ? `, ${s.elsewhere} running elsewhere` : ''} | ${fmtTime(s.elapsedSeconds)} elapsed${s.stopping ? ', stopping' : `, ETA ${fmtTime(s.etaSeconds)}`}`
  );
}

/** A worker's run in progress: seconds since it began, and the share of its epochs done (0 before the first ends). */
export interface RunInProgress {
  seconds: number;
  epochFraction: number;
}

/**
 * Seconds until every run has ended. A run takes the mean time of the runs trained so far (before
 * the first ends, the running runs' time per epoch projected to all their epochs); the runs in
 * progress finish theirs and the pending ones are shared among the live workers.
 */
export function poolEta(trainedSeconds: number[], running: RunInProgress[], pending: number, liveWorkers: number): number {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const perRun = trainedSeconds.length ? mean(trainedSeconds) : mean(running.filter((r) => r.epochFraction > 0).map((r) => r.seconds / r.epochFraction));
  const left = running.reduce((s, r) => s + Math.max(0, perRun - r.seconds), 0) + pending * perRun;
  return left / Math.max(1, liveWorkers);
}

export type PoolDisplayMode = 'tty' | 'lines' | 'none';

/** Event lines and the status line: 'tty' redraws it below the events, 'lines' logs it every `everyMs`, 'none' never. */
export class PoolDisplay {
  private lastShown = Date.now();

  constructor(
    readonly mode: PoolDisplayMode,
    private readonly log: (s: string) => void,
    private readonly statusLine: () => string,
    private readonly everyMs = 30_000,
  ) {}

  /** An event line (above the status line on a terminal). */
  say(s: string): void {
    if (this.mode === 'tty') process.stderr.write('\r\x1b[K');
    this.log(s);
    if (this.mode === 'tty') process.stderr.write(`\r${this.statusLine()}\x1b[K`);
  }

  /** The status line, if it is due. */
  tick(): void {
    if (this.mode === 'tty') process.stderr.write(`\r${this.statusLine()}\x1b[K`);
    else if (this.mode === 'lines' && Date.now() - this.lastShown >= this.everyMs) {
      this.lastShown = Date.now();
      this.log(this.statusLine());
    }
  }

  /** The final status line, left in place. */
  end(): void {
    if (this.mode === 'tty') process.stderr.write(`\r${this.statusLine()}\x1b[K\n`);
    else if (this.mode === 'lines') this.log(this.statusLine());
  }
}
