// The bridge to the Jupyter kernel (tslab): whether code runs inside one, and a display call
// that sends several mime types as one output. tslab's public `display.raw` sends one mime type
// per output, which would show a figure twice (interactive and static), so this calls the
// kernel's display writer that `display.raw` itself uses.
import { randomBytes } from 'crypto';

/** mime type -> content: strings, base64 for binary images, objects for JSON types. */
export type MimeBundle = Record<string, unknown>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type DisplayWriter = (msg: DisplayMessage, update: boolean) => void;

/** True inside a tslab kernel (its executor defines `__tslab__` before running any cell). */
export function inNotebook(): boolean {
  return '__tslab__' in globalThis;
}

/** A fresh id for a display that later calls update in place (live figures). */
export function newDisplayId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Shows a mime bundle as the current cell's output; with `displayId` and `update`, replaces an
 * earlier output that used the same id. Returns false outside a notebook (nothing shown).
 */
export async function displayBundle(bundle: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): Promise<boolean> {
  if (!inNotebook()) return false;
  const write = await displayWriter();
  write({ data: bundle, metadata: {}, transient: opts.displayId ? { display_id: opts.displayId } : {} }, opts.update === true);
  return true;
}

async function displayWriter(): Promise<DisplayWriter> {
  // Loaded only inside the kernel, where this module is already in memory: outside, it would
  // pull in tslab's TypeScript compiler for nothing.
  const jupyter = (await import('tslab/dist/jupyter')) as unknown as { lastWriteDisplayData: DisplayWriter | null };
  if (!jupyter.lastWriteDisplayData) {
    throw new Error('the tslab kernel has no display writer yet: call show() from inside a notebook cell');
  }
  return jupyter.lastWriteDisplayData;
}
