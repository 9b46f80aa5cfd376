// A minimal tar reader (ustar, GNU long names, pax paths): regular files and folders only, enough
// to unpack data-set archives without a tar binary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

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

