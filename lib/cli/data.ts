// `sat data cifar10`: downloads the official CIFAR-10 binary archive, checks its md5 and
// unpacks it into data/ (or unpacks an archive the user brought by hand).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, CIFAR10_URL, loadCifar10 } from '../data/cifar10';
import { dataDir } from '../util/fs';

const USAGE = `usage: sat data cifar10 [--dir DIR] [--url URL]

  Downloads CIFAR-10 (binary version, 163 MB) from ${CIFAR10_URL},
  checks its md5 and unpacks it to DIR/${CIFAR10_FOLDER} (default DIR: the project's data/).
  If DIR/cifar-10-binary.tar.gz already exists it is checked and unpacked without downloading.
  --url   a mirror of the same archive`;

const ARCHIVE_NAME = 'cifar-10-binary.tar.gz';
/** No answer (or no new bytes) for this long counts as unreachable. */
const DEFAULT_TIMEOUT_MS = 20_000;

function manualSteps(dir: string): string {
  return (
    `to bring the data by hand, download ${CIFAR10_URL} on a machine with internet, then either put it at ` +
    `${path.join(dir, ARCHIVE_NAME)} and run \`sat data cifar10\` again (it is checked and unpacked offline), ` +
    `or unpack it and copy the folder ${CIFAR10_FOLDER} into ${dir}, or set CIFAR10_DIR to that folder`
  );
}

// ---------------------------------------------------------------------------------------------
// Download

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

/** Downloads `url` to `dest` (through dest.part, renamed when complete). */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const host = new URL(url).host;
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
function byteProgress(label: string): (received: number, total: number | null) => void {
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

// ---------------------------------------------------------------------------------------------
// A minimal tar reader (ustar, GNU long names, pax paths): regular files and folders only.

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function tarNumber(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    // GNU base-256 for values that do not fit the octal field.
    let v = field[0] & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + field[i];
    return v;
  }
  const text = cString(block, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function checkHeader(block: Buffer, at: number): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  if (tarNumber(block, 148, 8) !== sum) throw new Error(`not a tar archive (bad header checksum at byte ${at})`);
}

interface TarEntry {
  /** Bytes of this entry still to consume, padding included. */
  left: number;
  /** Bytes of data (not padding) still to consume. */
  dataLeft: number;
  fd: number | null;
  /** Content collected for GNU long-name and pax headers. */
  meta: Buffer[] | null;
  type: string;
}

/** Unpacks a tar stream under `dest`; returns the files written. Refuses paths that leave `dest`. */
export async function extractTar(chunks: AsyncIterable<Buffer>, dest: string): Promise<string[]> {
  const root = path.resolve(dest);
  const written: string[] = [];
  let pending = Buffer.alloc(0);
  let consumed = 0; // archive offset of pending[0]
  let entry: TarEntry | null = null;
  let nextName: string | null = null; // from a GNU 'L' or pax 'x' header
  let ended = false;

  const target = (name: string): string => {
    const p = path.resolve(root, name);
    if (p !== root && !p.startsWith(root + path.sep)) throw new Error(`tar entry '${name}' would be written outside ${root}; refusing the archive`);
    return p;
  };
  const finish = (e: TarEntry) => {
    if (e.fd !== null) fs.closeSync(e.fd);
    if (e.meta) {
      const text = Buffer.concat(e.meta).toString('utf8');
      if (e.type === 'L') nextName = text.replace(/\0+$/, '');
      else {
        const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
        if (m) nextName = m[1];
      }
    }
  };

  try {
    for await (const chunk of chunks) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let off = 0;
      while (!ended) {
        if (entry) {
          if (entry.left === 0) {
            finish(entry);
            entry = null;
            continue;
          }
          const take = Math.min(entry.left, pending.length - off);
          if (take === 0) break;
          const data = Math.min(take, entry.dataLeft);
          if (data > 0) {
            const part = pending.subarray(off, off + data);
            if (entry.fd !== null) fs.writeSync(entry.fd, part);
            else if (entry.meta) entry.meta.push(Buffer.from(part));
          }
          entry.dataLeft -= data;
          entry.left -= take;
          off += take;
          continue;
        }
        if (pending.length - off < 512) break;
        const block = pending.subarray(off, off + 512);
        const at = consumed + off;
        off += 512;
        if (block.every((b) => b === 0)) {
          ended = true;
          break;
        }
        checkHeader(block, at);
        const type = String.fromCharCode(block[156] || 0x30);
        const prefix = block.subarray(257, 262).toString() === 'ustar' ? cString(block, 345, 155) : '';
        const name = nextName ?? (prefix ? `${prefix}/${cString(block, 0, 100)}` : cString(block, 0, 100));
        const size = tarNumber(block, 124, 12);
        const isMeta = type === 'L' || type === 'x';
        if (!isMeta) nextName = null;
        let fd: number | null = null;
        if (type === '5') fs.mkdirSync(target(name), { recursive: true });
        else if (type === '0' || type === '7') {
          const file = target(name);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fd = fs.openSync(file, 'w');
          written.push(file);
        }
        entry = { left: Math.ceil(size / 512) * 512, dataLeft: size, fd, meta: isMeta ? [] : null, type };
      }
      consumed += off;
      pending = pending.subarray(off);
      if (ended) break;
    }
  } finally {
    if (entry?.fd != null) fs.closeSync(entry.fd);
  }
  if (entry && (entry as TarEntry).left > 0) throw new Error('tar archive ends in the middle of a file (truncated download?)');
  return written;
}

/** Unpacks a .tar.gz under `dest`. */
export async function extractTarGz(archive: string, dest: string): Promise<string[]> {
  const gunzip = zlib.createGunzip();
  const input = fs.createReadStream(archive);
  input.on('error', (e) => gunzip.destroy(e));
  try {
    return await extractTar(input.pipe(gunzip), dest);
  } catch (e) {
    throw new Error(`cannot unpack ${archive}: ${(e as Error).message}; delete it and download it again`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

/** True when `dir` holds all six CIFAR-10 batch files. */
function hasAllCifarFiles(dir: string): boolean {
  return [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].every((f) => fs.existsSync(path.join(dir, f)));
}

/** Checks the archive's md5, unpacks it into `dir` and checks the result; returns the CIFAR-10 folder. */
export async function installCifar10(archive: string, dir: string, expectedMd5 = CIFAR10_MD5): Promise<string> {
  const md5 = await md5File(archive);
  if (md5 !== expectedMd5) {
    throw new Error(`${archive} has md5 ${md5}, expected ${expectedMd5}: it is damaged or not the CIFAR-10 binary archive; delete it and download it again`);
  }
  await extractTarGz(archive, dir);
  const folder = path.join(dir, CIFAR10_FOLDER);
  if (!hasAllCifarFiles(folder)) throw new Error(`${archive} unpacked, but ${folder} lacks some of the batch files; the archive is not CIFAR-10's binary version`);
  // Reading one record per split checks every file's size and the first labels.
  loadCifar10({ dir: folder, split: 'train', limit: 1 });
  loadCifar10({ dir: folder, split: 'test', limit: 1 });
  return folder;
}

interface DataArgs {
  dir: string;
  url: string;
}

function parseArgs(argv: string[]): DataArgs {
  const args: DataArgs = { dir: dataDir(), url: CIFAR10_URL };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag !== '--dir' && flag !== '--url') throw new Error(`unknown option '${flag}' (see sat data --help)`);
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    if (flag === '--dir') args.dir = path.resolve(value);
    else args.url = value;
  }
  return args;
}

async function cifar10Command(args: DataArgs): Promise<void> {
  const folder = path.join(args.dir, CIFAR10_FOLDER);
  if (hasAllCifarFiles(folder)) {
    loadCifar10({ dir: folder, split: 'test', limit: 1 });
    console.log(`CIFAR-10 is already in ${folder}`);
    return;
  }
  const archive = path.join(args.dir, ARCHIVE_NAME);
  const downloaded = !fs.existsSync(archive);
  if (downloaded) {
    console.error(`downloading ${args.url}`);
    try {
      await downloadFile(args.url, archive, { onProgress: byteProgress('CIFAR-10') });
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${manualSteps(args.dir)}`);
    }
  } else {
    console.error(`using ${archive} (already here)`);
  }
  try {
    await installCifar10(archive, args.dir);
  } catch (e) {
    if (!downloaded) throw e;
    fs.rmSync(archive); // a bad download is worth nothing; the next run fetches it again
    throw new Error(`${(e as Error).message.replace(/; delete it and download it again$/, '')} (removed it; run again to retry, or ${manualSteps(args.dir)})`);
  }
  fs.rmSync(archive); // unpacked and checked: the 163 MB archive is no longer needed
  console.log(`CIFAR-10 is ready in ${folder} (50000 training and 10000 test images)`);
}

/** `sat data <dataset> [options]`; returns the process exit code. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h' || what === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    if (what !== 'cifar10') throw new Error(what ? `unknown dataset '${what}'; only 'cifar10' can be fetched (see sat data --help)` : 'which dataset? usage: sat data cifar10 [--dir DIR]');
    await cifar10Command(parseArgs(rest));
    return 0;
  } catch (e) {
    console.error(`sat data: ${(e as Error).message}`);
    return 1;
  }
}
