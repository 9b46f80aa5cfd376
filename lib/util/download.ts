// Downloading a file over HTTP(S) with a timeout that restarts on every received chunk, errors a
// user can act on (DNS, refused, timeout), a progress line, and an md5 check of the result.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** No answer (or no new bytes) for this long counts as unreachable. */
const DEFAULT_TIMEOUT_MS = 20_000;

export interface DownloadOptions {
  timeoutMs?: number;
  onProgress?: (received: number, total: number | null) => void;
}

/** Human-readable reason a fetch failed (DNS, refused, timeout, ...). */
function networkReason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  const code = err.cause?.code;
  const meaning: Record<string, string> = {
    ENOTFOUND: 'host name not found: no internet access?',
    EAI_AGAIN: 'host name lookup failed: no internet access?',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    ENETUNREACH: 'network unreachable',
  };
  if (code) return meaning[code] ? `${code}: ${meaning[code]}` : code;
  return err.cause?.message ?? err.message ?? String(e);
}

/** Copies a local file to `dest` (through dest.part, renamed when complete). */
function copyLocal(src: string, dest: string, opts: DownloadOptions): void {
  if (!fs.existsSync(src)) throw new Error(`${src} does not exist (from a file:// URL): check the path of the mirror folder`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  fs.copyFileSync(src, part);
  fs.renameSync(part, dest);
  const size = fs.statSync(dest).size;
  opts.onProgress?.(size, size);
}

/** Downloads `url` to `dest` (through dest.part, renamed when complete). */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`'${url}' is not a URL (expected https://..., http://... or file:///path)`);
  }
  // A mirror on this machine (file:///...) is copied: Node's fetch reads only http(s).
  if (parsed.protocol === 'file:') return copyLocal(fileURLToPath(parsed), dest, opts);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${url}: unsupported scheme '${parsed.protocol}' (use https://, http:// or file:///path)`);
  const host = parsed.host;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
  const part = `${dest}.part`;
  let fd: number | null = null;
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: controller.signal });
    } catch (e) {
      throw new Error(`could not reach ${host} (${networkReason(e)})`);
    }
    if (!res.ok || !res.body) throw new Error(`${url} answered HTTP ${res.status} ${res.statusText}`);
    const length = Number(res.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : null;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fd = fs.openSync(part, 'w');
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
        fs.writeSync(fd, chunk);
        received += chunk.length;
        opts.onProgress?.(received, total);
      }
    } catch (e) {
      throw new Error(`download from ${host} broke off after ${received} bytes (${networkReason(e)})`);
    }
    if (total !== null && received !== total) throw new Error(`download from ${host} ended after ${received} of ${total} bytes`);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(part, dest);
  } finally {
    clearTimeout(timer);
    if (fd !== null) fs.closeSync(fd);
    if (fs.existsSync(part)) fs.rmSync(part);
  }
}

/** A progress callback that draws one updating line on stderr (a line per 10% when not a terminal). */
export function byteProgress(label: string): (received: number, total: number | null) => void {
  const started = Date.now();
  let lastTenth = -1;
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return (received, total) => {
    const rate = received / Math.max(1e-3, (Date.now() - started) / 1000);
    const pct = total ? ` (${Math.floor((100 * received) / total)}%)` : '';
    const line = `${label} ${mib(received)}/${total ? mib(total) : '?'} MiB${pct} ${mib(rate)} MiB/s`;
    const tenth = total ? Math.floor((10 * received) / total) : Math.floor(received / 2 ** 24);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}${total && received >= total ? '\n' : ''}`);
    } else if (tenth > lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`${line}\n`);
    }
  };
}

export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

