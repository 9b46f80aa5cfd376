// Ctrl-C (SIGINT) and SIGTERM for long commands: the first asks the work to stop at its next safe
// point (an AbortSignal the trainer checks between steps); a second, a moment later, exits at
// once (every file is written atomically, and the run folder's lock is released on exit).
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

export interface SignalStop {
  signal: AbortSignal;
  /** The signal received, if any. */
  received(): StopSignal | undefined;
  /** Removes the handlers (default behaviour returns). */
  dispose(): void;
}

/**
 * Installs the handlers. A terminal's Ctrl-C reaches both `bin/sat.mjs` (which forwards it) and
 * this process, so signals within `dedupMs` of the first count as one.
 */
export function stopOnSignals(log: (s: string) => void = (s) => console.error(s), dedupMs = 1000): SignalStop {
  const controller = new AbortController();
  let first: { name: StopSignal; at: number } | undefined;
  const handler = (name: StopSignal) => {
    const now = Date.now();
    if (!first) {
      first = { name, at: now };
      log(`[sat] ${name}: stopping after the current step (send it again to stop at once)`);
      controller.abort();
    } else if (now - first.at > dedupMs) {
      log(`[sat] ${name} again: stopping now`);
      process.exit(SIGNAL_EXIT_CODES[name]);
    }
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    received: () => first?.name,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
