// JPEG/PNG decoding for the streaming pipeline: sharp (libvips, libjpeg-turbo; native code from
// the npm registry's prebuilt binaries) when it loads, else the pure-JavaScript jpeg-js/pngjs.
// Both give 8-bit RGB; they may differ by a level or two per pixel (different IDCTs), so a run
// records which decoder it used.
import type sharpFn from 'sharp';
import { decodeImage, type Box, type RgbImage } from './image-ops';

export const DECODERS = ['sharp', 'jpeg-js'] as const;
export type Decoder = (typeof DECODERS)[number];

type SharpModule = typeof sharpFn;
let sharpModule: SharpModule | null | undefined;
let sharpError = '';

/** sharp, or null with the reason in sharpLoadError() (e.g. no prebuilt binary for this platform). */
export function loadSharp(): SharpModule | null {
  if (sharpModule !== undefined) return sharpModule;
  try {
    const s = require('sharp') as SharpModule;
    // One libvips thread per decode and no operation cache: the pool's workers are the
    // parallelism, and the cache would hold decoded images the pipeline has finished with.
    s.concurrency(1);
    s.cache(false);
    sharpModule = s;
  } catch (e) {
    sharpError = (e as Error).message.split('\n')[0];
    sharpModule = null;
  }
  return sharpModule;
}

export function sharpLoadError(): string {
  return sharpError;
}

/** 'sharp' when it loads (and not refused by SAT_DECODER=jpeg-js), else 'jpeg-js'. */
export function resolveDecoder(requested: Decoder | 'auto' = (process.env.SAT_DECODER as Decoder | undefined) ?? 'auto'): Decoder {
  if (requested !== 'auto' && !DECODERS.includes(requested)) {
    throw new Error(`Unknown decoder '${requested}' (SAT_DECODER or --decoder). Valid decoders: auto, ${DECODERS.join(', ')}.`);
  }
  if (requested === 'jpeg-js') return 'jpeg-js';
  if (loadSharp()) return 'sharp';
  if (requested === 'sharp') throw new Error(`The sharp decoder was requested but sharp does not load here (${sharpError}); reinstall it with 'npm install sharp', or use --decoder jpeg-js.`);
  return 'jpeg-js';
}

/** Decodes a JPEG or PNG to 8-bit RGB (grayscale and CMYK become RGB, alpha is dropped). */
export async function decode(buf: Uint8Array, file: string, decoder: Decoder): Promise<RgbImage> {
  if (decoder === 'jpeg-js') return decodeImage(buf, file);
  const sharp = loadSharp();
  if (!sharp) throw new Error(`sharp does not load here (${sharpError}); use the jpeg-js decoder`);
  try {
    const { data, info } = await sharp(buf, { failOn: 'error' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion to RGB`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}; delete or replace the file`);
  }
}

/**
 * Training crops with sharp: decode, crop `choose(width, height).box`, resize to size × size
 * (libvips, linear kernel, antialiased when shrinking) and mirror when `flip`, all in native code.
 * The box and flip come from the same draws as the jpeg-js path; only the resampler differs.
 */
export async function sharpCropResize(buf: Uint8Array, file: string, size: number, choose: (width: number, height: number) => { box: Box; flip: boolean }): Promise<Uint8Array> {
  const sharp = loadSharp();
  if (!sharp) throw new Error(`sharp does not load here (${sharpError}); use the jpeg-js decoder`);
  try {
    const img = sharp(buf, { failOn: 'error' });
    const meta = await img.metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    const { box, flip } = choose(meta.width, meta.height);
    let p = img.extract({ left: box.x, top: box.y, width: box.w, height: box.h }).resize(size, size, { fit: 'fill', kernel: 'linear' });
    if (flip) p = p.flop();
    const { data, info } = await p.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) throw new Error(`got ${info.width}x${info.height}x${info.channels}`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}; delete or replace the file`);
  }
}
