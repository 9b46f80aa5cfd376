// Pure image operations with no TensorFlow.js import, so decoding workers can load them cheaply:
// decoding with jpeg-js/pngjs, crop boxes (training and evaluation), and resampling (antialiased
// bilinear; bicubic as OpenCV and TensorFlow 1 compute it, for the official evaluation crops).
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { Rng } from '../../util/rng';

// ---------------------------------------------------------------------------------------------
// Decoding

/** 8-bit RGB pixels, row-major, 3 channels. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes a JPEG or PNG (told apart by content, not name) to RGB; grayscale and CMYK become RGB, alpha is dropped. */
export function decodeImage(buf: Uint8Array, file: string): RgbImage {
  const isJpeg = buf.length > 2 && buf[0] === 0xff && buf[1] === 0xd8;
  const isPng = buf.length > 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  if (!isJpeg && !isPng) {
    throw new Error(`cannot decode image ${file}: not a JPEG or PNG (first bytes ${Buffer.from(buf.subarray(0, 4)).toString('hex')}); delete or replace the file`);
  }
  try {
    if (isJpeg) {
      // jpeg-js already turns 1-channel (grayscale) and 4-channel (CMYK) JPEGs into RGB.
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
      return { data: img.data, width: img.width, height: img.height };
    }
    // pngjs always yields 8-bit RGBA (grayscale, palette and 16-bit are converted).
    const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    const n = png.width * png.height;
    const data = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) {
      data[p * 3] = png.data[p * 4];
      data[p * 3 + 1] = png.data[p * 4 + 1];
      data[p * 3 + 2] = png.data[p * 4 + 2];
    }
    return { data, width: png.width, height: png.height };
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}; delete or replace the file`);
  }
}

// ---------------------------------------------------------------------------------------------
// Crops and resizing

/** A rectangle in source pixel coordinates (may be fractional). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const randint = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive

/**
 * The Inception/ResNet random-resized-crop box (torchvision's RandomResizedCrop): a random area
 * fraction in `scale` and aspect ratio (log-uniform) in `ratio`, 10 tries, then a center crop.
 */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): Box {
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rng, Math.log(ratio[0]), Math.log(ratio[1])));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { y: randint(rng, 0, height - h), x: randint(rng, 0, width - w), w, h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/**
 * The evaluation crop as a source box: resize the shorter side to floor(size / cropFraction)
 * (256 for 224), then take the center size x size, as in the ResNet/timm recipe.
 */
export function centerCropBox(width: number, height: number, size: number, cropFraction = 0.875): Box {
  const short = Math.floor(size / cropFraction);
  const ow = width <= height ? short : Math.floor((short * width) / height);
  const oh = width <= height ? Math.floor((short * height) / width) : short;
  const sx = width / ow;
  const sy = height / oh;
  return { x: Math.round((ow - size) / 2) * sx, y: Math.round((oh - size) / 2) * sy, w: size * sx, h: size * sy };
}

interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/**
 * Bilinear (triangle) filter taps mapping `outSize` samples onto [start, start+span) of an axis
 * of `inSize` pixels, with pixel centres at i+0.5. When shrinking, the triangle widens with the
 * scale (antialiasing, as PIL does), so a large downscale averages instead of skipping pixels.
 */
function filterTaps(inSize: number, outSize: number, start: number, span: number): Taps {
  const scale = span / outSize;
  const support = Math.max(scale, 1);
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    const center = start + (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inSize, Math.ceil(center + support));
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs(i + 0.5 - center) / support);
      weights[o * stride + i - lo] = w;
      sum += w;
    }
    if (sum > 0) {
      first[o] = lo;
      count[o] = hi - lo;
      for (let t = 0; t < hi - lo; t++) weights[o * stride + t] /= sum;
    } else {
      // Only for a centre outside the image: take the nearest edge pixel.
      first[o] = Math.min(inSize - 1, Math.max(0, Math.floor(center)));
      count[o] = 1;
      weights[o * stride] = 1;
    }
  }
  return { first, count, weights, stride };
}

/**
 * Resamples `box` of `img` to outW x outH with a separable bilinear filter and writes float RGB
 * in [0,1] to `out` at `offset` (mirrored left-right when `flip`).
 */
export function resizeBox(img: RgbImage, box: Box, outW: number, outH: number, out: Float32Array, offset = 0, flip = false): void {
  const tx = filterTaps(img.width, outW, box.x, box.w);
  const ty = filterTaps(img.height, outH, box.y, box.h);
  const rowLo = ty.first[0];
  const rowHi = ty.first[outH - 1] + ty.count[outH - 1];
  // Horizontal pass over only the source rows the vertical pass needs.
  const tmp = new Float32Array((rowHi - rowLo) * outW * 3);
  for (let r = rowLo; r < rowHi; r++) {
    const src = r * img.width * 3;
    const dst = (r - rowLo) * outW * 3;
    for (let ox = 0; ox < outW; ox++) {
      let a = 0, b = 0, c = 0;
      const f = tx.first[ox];
      const wo = ox * tx.stride;
      for (let t = 0; t < tx.count[ox]; t++) {
        const w = tx.weights[wo + t];
        const s = src + (f + t) * 3;
        a += w * img.data[s];
        b += w * img.data[s + 1];
        c += w * img.data[s + 2];
      }
      const d = dst + ox * 3;
      tmp[d] = a;
      tmp[d + 1] = b;
      tmp[d + 2] = c;
    }
  }
  for (let oy = 0; oy < outH; oy++) {
    const f = ty.first[oy] - rowLo;
    const wo = oy * ty.stride;
    for (let ox = 0; ox < outW; ox++) {
      let a = 0, b = 0, c = 0;
      for (let t = 0; t < ty.count[oy]; t++) {
        const w = ty.weights[wo + t];
        const s = ((f + t) * outW + ox) * 3;
        a += w * tmp[s];
        b += w * tmp[s + 1];
        c += w * tmp[s + 2];
      }
      const d = offset + (oy * outW + (flip ? outW - 1 - ox : ox)) * 3;
      out[d] = Math.min(1, a / 255);
      out[d + 1] = Math.min(1, b / 255);
      out[d + 2] = Math.min(1, c / 255);
    }
  }
}

export type PreprocessMode = 'train' | 'eval';

/**
 * Writes the size x size x 3 network input for one decoded image: 'train' = random-resized crop
 * + random flip (draws from `rng`), 'eval' = shorter side to size/cropFraction (default 0.875), center crop.
 */
export function preprocessImage(img: RgbImage, size: number, mode: PreprocessMode, rng: Rng, out: Float32Array, offset = 0, cropFraction?: number): void {
  if (mode === 'train') {
    const box = randomResizedCropBox(img.width, img.height, rng);
    resizeBox(img, box, size, size, out, offset, rng() < 0.5);
  } else {
    resizeBox(img, centerCropBox(img.width, img.height, size, cropFraction), size, size, out, offset);
  }
}


// ---------------------------------------------------------------------------------------------
// The official evaluation crops (released SAT models), with their exact integer rounding

/**
 * tensorpack's ResizeShortestEdge(short): the shorter side becomes `short`, the longer side
 * `int(scale · long + 0.5)` (rounded). Then CenterCrop takes the offset `int((side − size) · 0.5)`
 * (floored). A 500×375 image at short = 256 becomes 341×256 and is cropped at x = 58, y = 16.
 */
export function resnetOfficialGeometry(width: number, height: number, size: number): { resizedW: number; resizedH: number; x: number; y: number } {
  const short = size + 32;
  const scale = short / Math.min(width, height);
  const resizedW = height < width ? Math.floor(scale * width + 0.5) : short;
  const resizedH = height < width ? short : Math.floor(scale * height + 0.5);
  return { resizedW, resizedH, x: Math.floor((resizedW - size) * 0.5), y: Math.floor((resizedH - size) * 0.5) };
}

/**
 * The official EfficientNet crop (EfficientNet/preprocessing.py _decode_and_center_crop, CROP_PADDING
 * 32): a central square of side `int(size / (size + 32) · min(H, W))` at offset `((H − side) + 1) // 2`,
 * later resized to size × size.
 */
export function efficientnetOfficialCrop(width: number, height: number, size: number): { x: number; y: number; side: number } {
  // float32 arithmetic as in the TF graph (tf.cast(..., tf.float32)), then truncation.
  const side = Math.trunc(Math.fround(Math.fround(size / (size + 32)) * Math.min(width, height)));
  return { x: Math.floor((width - side + 1) / 2), y: Math.floor((height - side + 1) / 2), side };
}

/** Keys' cubic convolution weights for a fractional offset t in [0, 1), A = −0.75 (OpenCV and TF1). */
function cubicWeights(t: number, out: Float64Array): void {
  const A = -0.75;
  const t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  out[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  out[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  out[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  out[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

/** For each output index: the 4 source taps (clamped at the borders, i.e. replicated edges) and weights. */
function cubicTaps(inSize: number, outSize: number, halfPixel: boolean): { idx: Int32Array; w: Float64Array } {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  const tmp = new Float64Array(4);
  for (let o = 0; o < outSize; o++) {
    const f = halfPixel ? (o + 0.5) * scale - 0.5 : o * scale;
    const s = Math.floor(f);
    cubicWeights(f - s, tmp);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(inSize - 1, Math.max(0, s - 1 + k));
      w[o * 4 + k] = tmp[k];
    }
  }
  return { idx, w };
}

/**
 * Bicubic resize of the region (x, y, w, h) of `img` to outW × outH, rounded and clamped to 8 bits.
 * `halfPixel` true is OpenCV's INTER_CUBIC (pixel centres at i + 0.5); false is TF1's
 * resize_bicubic (align_corners = half_pixel_centers = False). Neither antialiases when shrinking,
 * as in the official code. OpenCV computes in 11-bit fixed point, this in double precision, so
 * results may differ from cv2's by one level.
 */
export function bicubicResize(img: RgbImage, region: { x: number; y: number; w: number; h: number }, outW: number, outH: number, halfPixel: boolean): RgbImage {
  const tx = cubicTaps(region.w, outW, halfPixel);
  const ty = cubicTaps(region.h, outH, halfPixel);
  // Horizontal pass over the region's rows, then vertical.
  const tmp = new Float64Array(region.h * outW * 3);
  for (let r = 0; r < region.h; r++) {
    const src = (region.y + r) * img.width * 3;
    for (let o = 0; o < outW; o++) {
      let a = 0, b = 0, c = 0;
      for (let k = 0; k < 4; k++) {
        const s = src + (region.x + tx.idx[o * 4 + k]) * 3;
        const wt = tx.w[o * 4 + k];
        a += wt * img.data[s];
        b += wt * img.data[s + 1];
        c += wt * img.data[s + 2];
      }
      const d = (r * outW + o) * 3;
      tmp[d] = a;
      tmp[d + 1] = b;
      tmp[d + 2] = c;
    }
  }
  const data = new Uint8Array(outW * outH * 3);
  for (let oy = 0; oy < outH; oy++) {
    for (let o = 0; o < outW * 3; o++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += ty.w[oy * 4 + k] * tmp[ty.idx[oy * 4 + k] * outW * 3 + o];
      data[oy * outW * 3 + o] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return { data, width: outW, height: outH };
}

/** The rows/columns (x, y, w, h) of `img` as a new image. */
export function cropImage(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > img.width || y + h > img.height) {
    throw new Error(`crop ${w}x${h} at (${x}, ${y}) does not fit a ${img.width}x${img.height} image`);
  }
  const data = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { data, width: w, height: h };
}

/** ResNet's official evaluation input: shorter side to size + 32 (bicubic, OpenCV), centre crop size × size. */
export function resnetOfficialEval(img: RgbImage, size: number): RgbImage {
  const g = resnetOfficialGeometry(img.width, img.height, size);
  const resized = bicubicResize(img, { x: 0, y: 0, w: img.width, h: img.height }, g.resizedW, g.resizedH, true);
  return cropImage(resized, g.x, g.y, size, size);
}

/** EfficientNet's official evaluation input: the central crop, resized to size × size (bicubic, TF1). */
export function efficientnetOfficialEval(img: RgbImage, size: number): RgbImage {
  const c = efficientnetOfficialCrop(img.width, img.height, size);
  return bicubicResize(img, { x: c.x, y: c.y, w: c.side, h: c.side }, size, size, false);
}

// ---------------------------------------------------------------------------------------------
// One image to network input bytes (what a decoding worker returns)

/**
 * How an image becomes the network's size × size input. 'train': random-resized crop (area in
 * `cropScale`, default ImageNet's [0.08, 1]) and a random flip, antialiased bilinear. 'eval':
 * `evalCrop` 'standard' (shorter side to size / cropFraction, centre crop; cropFraction 0.875),
 * 'resnet-official' or 'efficientnet-official' (the released models' preprocessing, exact rounding).
 */
export interface PreprocessSpec {
  size: number;
  mode: PreprocessMode;
  cropScale?: [number, number];
  evalCrop?: 'standard' | 'resnet-official' | 'efficientnet-official';
  cropFraction?: number;
}

/** The network input for one decoded image as 8-bit RGB (size × size × 3), randomness from `rng`. */
export function preprocessToBytes(img: RgbImage, spec: PreprocessSpec, rng: Rng): Uint8Array {
  const { size } = spec;
  if (spec.mode === 'eval' && spec.evalCrop === 'resnet-official') return resnetOfficialEval(img, size).data;
  if (spec.mode === 'eval' && spec.evalCrop === 'efficientnet-official') return efficientnetOfficialEval(img, size).data;
  const out = new Float32Array(size * size * 3);
  if (spec.mode === 'train') {
    const box = randomResizedCropBox(img.width, img.height, rng, spec.cropScale);
    resizeBox(img, box, size, size, out, 0, rng() < 0.5);
  } else {
    resizeBox(img, centerCropBox(img.width, img.height, size, spec.cropFraction), size, size, out, 0);
  }
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = Math.round(out[i] * 255);
  return bytes;
}
