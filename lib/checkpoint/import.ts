// Loads the SAT authors' TensorFlow checkpoints into our ResNets and EfficientNets: the variable
// name maps and the import. A runnable model with the official activations: tf-model.ts; the
// official evaluation (preprocessing, attack): lib/eval/official.ts.
//
// Name maps, derived from the official code (cihangxie/SmoothAdversarialTraining):
// - ResNet (tensorpack; ResNet/resnet_model.py resnet_backbone, resnet_bottleneck, get_bn):
//   our <layer>/kernel is tensorpack's <layer>/W (Conv2D and FullyConnected rename kernel→W,
//   bias→b); BatchNorm('bn') holds bn/gamma, bn/beta and its running statistics as
//   bn/mean/EMA and bn/variance/EMA. Layer scopes are identical: conv0, group<s>/block<b>/
//   {conv1,conv2,conv3,convshortcut}, linear. Grouped convs (ResNeXt, Conv2D split=group)
//   store one [k,k,in/groups,out] kernel, as ours does.
// - EfficientNet (TF TPU code; EfficientNet/efficientnet_builder.py build_model,
//   efficientnet_model.py Model/MBConvBlock): everything under the model name's scope
//   (efficientnet-b0 … efficientnet-bL1), TF1 layers numbered per scope in creation order;
//   the table is in lib/models/efficientnet.ts's header and in efficientNetTfName below.
//   SAT's eval BatchNormalization (EfficientNet/utils.py) creates gamma/beta/moving_* with
//   shape [1,1,1,1,C]; plain TF layers use [C]. Both are accepted.
// Layouts: conv kernels are HWIO in TF and tfjs, depthwise kernels [k,k,C,1] in both, dense
// kernels [in,out] in both (NCHW training in tensorpack does not change kernel layout), so
// no transposes are needed. The one change: tensorpack's ResNets were trained on BGR images
// (cv2.imread; ImageNetModel.image_bgr = True, the RGB flip in adv_model.image_preprocess is
// commented out; main.py: "Our model expects BGR images instead of RGB"), so the stem
// kernel's input channels are reversed here and the imported model takes RGB like ours.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../models';
import { CheckpointError } from './errors';
import type { Checkpoint } from './reader';

export type TfFamily = 'resnet' | 'efficientnet';

export interface TfImportOptions {
  /** Our registry name of the model (resnet50, resnext50-32x4d, efficientnet-b0, efficientnet-l1, …). */
  arch: string;
  /**
   * Read the ExponentialMovingAverage shadow of every variable (`<name>/ExponentialMovingAverage`),
   * as the official EfficientNet eval does when --moving_average_decay > 0 (the L1-enhanced
   * release). Default false: the README evaluates every other release with decay 0, the raw weights.
   */
  movingAverage?: boolean;
  /** ResNet: the checkpoint was trained on BGR input (true for SAT's tensorpack models; default). */
  bgr?: boolean;
}

/** One of our variables and where it comes from in the checkpoint. */
export interface VariableMapping {
  ours: string;
  tf: string;
  /** 'reverse-input-channels': the stem conv's BGR kernel becomes an RGB one. */
  transform?: 'reverse-input-channels';
}

/** A per-activation parameter in the checkpoint (SmoothReLU's learned beta, one per activation site). */
export interface ActivationParam {
  /** The activation site: the variable scope it was created in, e.g. group0/block0/conv1. */
  site: string;
  tf: string;
  /** SmoothReLU's a = beta_raw² (resnet_model.py smoothrelu_fn squares the stored variable). */
  value: number;
}

export interface TfImportReport {
  family: TfFamily;
  arch: string;
  prefix: string;
  mapping: VariableMapping[];
  /** Elements loaded (parameters plus BN statistics). */
  elements: number;
  /** Checkpoint variables deliberately not loaded: optimizer slots, step counters, summaries, the unused raw/EMA twin. */
  ignored: string[];
  activationParams: ActivationParam[];
}

/** Raised before any variable is assigned, so a model is never left half-loaded. */
export class TfImportError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    super(message);
    this.name = 'TfImportError';
  }
}

// ---------------------------------------------------------------------------------------------
// Name maps

export function familyOf(arch: string): TfFamily {
  if (/^(resnet|resnext)\d/.test(arch)) return 'resnet';
  if (arch.startsWith('efficientnet-')) return 'efficientnet';
  throw new Error(`no TensorFlow name map for model '${arch}': SAT released ResNets/ResNeXts (resnet50, resnext50-32x4d, …) and EfficientNets (efficientnet-b0 … efficientnet-l1).`);
}

/** The variable scope efficientnet_builder.build_model puts a model in ('efficientnet-bL1' for our 'efficientnet-l1'). */
export function efficientNetScope(arch: string): string {
  return arch === 'efficientnet-l1' ? 'efficientnet-bL1' : arch;
}

function resnetTfName(ours: string): string {
  return ours
    .replace(/\/kernel$/, '/W')
    .replace(/^linear\/bias$/, 'linear/b')
    .replace(/\/bn\/moving_mean$/, '/bn/mean/EMA')
    .replace(/\/bn\/moving_variance$/, '/bn/variance/EMA');
}

/**
 * TF1 layers are named per variable scope in creation order: in a block with expansion
 * conv2d (expand), conv2d_1 (project), tpu_batch_normalization{,_1,_2} (expand, depthwise,
 * project); without expansion (ratio 1) the project conv is conv2d and the BNs shift down.
 */
function efficientNetTfName(ours: string, scope: string, hasExpand: (block: string) => boolean): string {
  const bnParam = (p: string) => p; // gamma, beta, moving_mean, moving_variance: same names
  const m = /^(stem|head|blocks_\d+)\/(.+)$/.exec(ours);
  if (!m) throw new Error(`unknown EfficientNet variable '${ours}'`);
  const [, part, rest] = m;
  const layers: Record<string, string> =
    part === 'stem'
      ? { conv: 'conv2d', bn: 'tpu_batch_normalization' }
      : part === 'head'
        ? { conv: 'conv2d', bn: 'tpu_batch_normalization', dense: 'dense' }
        : hasExpand(part)
          ? { expand_conv: 'conv2d', expand_bn: 'tpu_batch_normalization', depthwise_conv: 'depthwise_conv2d', depthwise_bn: 'tpu_batch_normalization_1', 'se/reduce_conv': 'se/conv2d', 'se/expand_conv': 'se/conv2d_1', project_conv: 'conv2d_1', project_bn: 'tpu_batch_normalization_2' }
          : { depthwise_conv: 'depthwise_conv2d', depthwise_bn: 'tpu_batch_normalization', 'se/reduce_conv': 'se/conv2d', 'se/expand_conv': 'se/conv2d_1', project_conv: 'conv2d', project_bn: 'tpu_batch_normalization_1' };
  const cut = rest.lastIndexOf('/');
  const layer = rest.slice(0, cut);
  const leaf = rest.slice(cut + 1);
  const tfLayer = layers[layer];
  if (tfLayer === undefined) throw new Error(`unknown EfficientNet layer '${part}/${layer}'`);
  return `${scope}/${part}/${tfLayer}/${bnParam(leaf)}`;
}

/** Every variable of `model` (parameters and BN statistics) and its official checkpoint name. */
export function tfVariableMap(model: Model, opts: TfImportOptions): VariableMapping[] {
  const family = familyOf(opts.arch);
  const names = [...model.params.keys(), ...model.state.keys()];
  if (family === 'resnet') {
    const bgr = opts.bgr ?? true;
    return names.map((ours) => ({ ours, tf: resnetTfName(ours), ...(bgr && ours === 'conv0/kernel' ? { transform: 'reverse-input-channels' as const } : {}) }));
  }
  const scope = efficientNetScope(opts.arch);
  const hasExpand = (block: string) => model.params.has(`${block}/expand_conv/kernel`);
  return names.map((ours) => ({ ours, tf: efficientNetTfName(ours, scope, hasExpand) }));
}

export const EMA_SUFFIX = '/ExponentialMovingAverage';
/** Optimizer slots and moving-average shadows that sit beside a variable: not weights of the model. */
const SLOT_SUFFIX = /\/(Momentum|RMSProp(_1)?|Adam(_1)?|ExponentialMovingAverage|AccumulateGradients)$/;

/** Whether a checkpoint name lies in the model's own variable scopes (the rest is training bookkeeping). */
function inModelScope(family: TfFamily, arch: string, name: string): boolean {
  return family === 'resnet' ? /^(conv0|group\d+|linear)\//.test(name) : name.startsWith(`${efficientNetScope(arch)}/`);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checkpoint shapes we accept for one of our shapes: the same, or a vector stored as [1,…,1,C]. */
function compatibleShape(ckpt: number[], ours: number[]): boolean {
  if (sameShape(ckpt, ours)) return true;
  return ours.length === 1 && ckpt.length > 1 && ckpt[ckpt.length - 1] === ours[0] && ckpt.slice(0, -1).every((d) => d === 1);
}

/** Reverses axis 2 (input channels) of an HWIO kernel. */
function reverseInputChannels(values: Float32Array, shape: number[]): Float32Array {
  const [h, w, cin, cout] = shape;
  const out = new Float32Array(values.length);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < cin; c++) {
      const src = (p * cin + c) * cout;
      const dst = (p * cin + (cin - 1 - c)) * cout;
      out.set(values.subarray(src, src + cout), dst);
    }
  }
  return out;
}

function listSome(names: string[], max = 12): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length - max} more)`;
}

/** SmoothReLU sites in the order our ResNet applies its activation: conv0, then per block conv1, conv2, the block output. */
export function resnetActivationSites(model: Model): { site: string; channels: number }[] {
  const out = (layer: string): number => model.params.get(`${layer}/kernel`)!.shape[3] as number;
  const blocks = [...model.params.keys()]
    .map((n) => /^(group\d+\/block\d+)\/conv1\/kernel$/.exec(n)?.[1])
    .filter((b): b is string => b !== undefined)
    .sort((a, b) => {
      const [ga, ba] = a.match(/\d+/g)!.map(Number);
      const [gb, bb] = b.match(/\d+/g)!.map(Number);
      return ga - gb || ba - bb;
    });
  return [
    { site: 'conv0', channels: out('conv0') },
    ...blocks.flatMap((b) => [
      { site: `${b}/conv1`, channels: out(`${b}/conv1`) },
      { site: `${b}/conv2`, channels: out(`${b}/conv2`) },
      { site: b, channels: out(`${b}/conv3`) },
    ]),
  ];
}

/**
 * Loads a TensorFlow checkpoint of the official SAT code into `model` (built by buildModel with
 * the same arch). Checks every name and shape first and throws a TfImportError listing the
 * missing, unexpected and mismatched variables before assigning anything; then reads all
 * tensors and only assigns once every read succeeded.
 */
export function importTfCheckpoint(model: Model, checkpoint: Checkpoint, opts: TfImportOptions): TfImportReport {
  const family = familyOf(opts.arch);
  const mapping = tfVariableMap(model, opts);
  const suffix = opts.movingAverage ? EMA_SUFFIX : '';
  const variable = (ours: string) => model.params.get(ours) ?? model.state.get(ours)!;
  const present = new Map(checkpoint.list().map((v) => [v.name, v]));

  const missing: string[] = [];
  const mismatched: string[] = [];
  const used = new Set<string>();
  for (const m of mapping) {
    const name = m.tf + suffix;
    const info = present.get(name);
    if (!info) {
      missing.push(name);
      continue;
    }
    used.add(name);
    used.add(m.tf); // with movingAverage, the raw twin is accounted for
    const shape = variable(m.ours).shape;
    if (!compatibleShape(info.shape, shape)) mismatched.push(`${name} is [${info.shape}] but ${opts.arch}'s ${m.ours} is [${shape}]`);
    else if (!['float32', 'float16', 'bfloat16'].includes(info.dtype)) mismatched.push(`${name} has dtype ${info.dtype}, expected a float`);
  }

  const activationNames: string[] = [];
  const ignored: string[] = [];
  const unexpected: string[] = [];
  for (const name of present.keys()) {
    if (used.has(name)) continue;
    const base = name.replace(SLOT_SUFFIX, '');
    if (!inModelScope(family, opts.arch, name)) ignored.push(name);
    else if (family === 'resnet' && name.endsWith('/smoothrelu_beta')) activationNames.push(name);
    else if (base !== name && (used.has(base) || base.endsWith('/smoothrelu_beta'))) ignored.push(name);
    else unexpected.push(name);
  }

  // SmoothReLU's per-site betas must cover exactly the sites our ResNet has.
  let activationParams: ActivationParam[] = [];
  if (activationNames.length > 0) {
    const sites = resnetActivationSites(model);
    const bySite = new Map(activationNames.map((n) => [n.slice(0, -'/smoothrelu_beta'.length), n]));
    const lacking = sites.filter((s) => !bySite.has(s.site)).map((s) => `${s.site}/smoothrelu_beta`);
    const extra = [...bySite.keys()].filter((s) => !sites.some((t) => t.site === s)).map((s) => bySite.get(s)!);
    missing.push(...lacking);
    unexpected.push(...extra);
    if (lacking.length === 0 && extra.length === 0 && missing.length + unexpected.length + mismatched.length === 0) {
      activationParams = sites.map(({ site }) => {
        const tfName = bySite.get(site)!;
        const raw = checkpoint.read(tfName).values as Float32Array;
        return { site, tf: tfName, value: raw[0] * raw[0] };
      });
    }
  }

  if (missing.length + unexpected.length + mismatched.length > 0) {
    const lines = [`cannot load ${checkpoint.prefix} into ${opts.arch}${opts.movingAverage ? ' (moving-average weights)' : ''}: nothing was loaded.`];
    if (missing.length) lines.push(`  missing from the checkpoint (${missing.length}): ${listSome(missing)}`);
    if (unexpected.length) lines.push(`  in the checkpoint but not in ${opts.arch} (${unexpected.length}): ${listSome(unexpected)}`);
    if (mismatched.length) lines.push(`  wrong shape or dtype (${mismatched.length}): ${listSome(mismatched, 6)}`);
    lines.push(
      opts.movingAverage && missing.length === mapping.length
        ? '  The checkpoint has no ExponentialMovingAverage variables: load it without the moving average (--ema off).'
        : `  Check --arch (depth, width, groups${family === 'efficientnet' ? ', b0…b7/l1' : ''}) against the checkpoint: \`sat checkpoint inspect ${checkpoint.prefix}\` lists its variables.`,
    );
    throw new TfImportError(lines.join('\n'), missing, unexpected, mismatched);
  }

  // Read everything before assigning anything: a corrupt tensor must not leave a half-loaded model.
  const staged: { v: tf.Variable; t: tf.Tensor }[] = [];
  let elements = 0;
  try {
    for (const m of mapping) {
      const v = variable(m.ours);
      const t = checkpoint.read(m.tf + suffix);
      let values = t.values as Float32Array;
      if (m.transform === 'reverse-input-channels') values = reverseInputChannels(values, t.shape);
      staged.push({ v, t: tf.tensor(values, v.shape, 'float32') });
      elements += values.length;
    }
  } catch (e) {
    tf.dispose(staged.map((s) => s.t));
    if (e instanceof CheckpointError) throw new CheckpointError(`${e.message} (nothing was loaded into ${opts.arch})`);
    throw e;
  }
  for (const { v, t } of staged) {
    v.assign(t);
    t.dispose();
  }
  return { family, arch: opts.arch, prefix: checkpoint.prefix, mapping, elements, ignored, activationParams };
}

/** The inverse map: a model's variables under their official names, for writing test or stand-in checkpoints. */
export function tfCheckpointTensors(model: Model, opts: TfImportOptions): { name: string; shape: number[]; values: Float32Array }[] {
  const variable = (ours: string) => model.params.get(ours) ?? model.state.get(ours)!;
  return tfVariableMap(model, opts).map((m) => {
    const v = variable(m.ours);
    let values = v.dataSync() as Float32Array;
    // Reversing the input channels is its own inverse.
    if (m.transform === 'reverse-input-channels') values = reverseInputChannels(values, v.shape);
    return { name: m.tf + (opts.movingAverage ? EMA_SUFFIX : ''), shape: [...v.shape], values: Float32Array.from(values) };
  });
}
