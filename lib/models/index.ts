// The model registry: build any model by name, with the input it was published for. Names are
// fixed (MODELS) or follow a pattern (MODEL_PATTERNS, e.g. resnet14): a run's config.json alone
// rebuilds its model, without importing the experiment that trained it.
import { EFFICIENTNET_WIDTH, EFFICIENTNETS, efficientNet } from './efficientnet';
import { deepMnistCnn, MNIST_CNN_WIDTH, mnistCnn } from './mnist-cnn';
import { isLearnable, parseActivation } from '../activations';
import { withLearnableActivation } from './learnable-activation';
import { PREACT_RESNET_WIDTH, preActResNet } from './preact-resnet';
import { RESNET_BASE_WIDTH, RESNETS, resNet } from './resnet';
import type { Model, ModelOptions } from './types';

export type { Model, ModelOptions } from './types';
export type { ForwardContext } from './layers';

/** The input a model was published for, used by `sat models` and as a notebook's default; and its width when a config gives none. */
export interface ModelDefaults {
  inputShape: [number, number, number];
  numClasses: number;
  /** ModelOptions.width when left out (channels or a multiplier, per architecture); unset for a model registered without one. */
  width?: number;
}

interface Registered {
  build: (opts: ModelOptions) => Model;
  defaults: ModelDefaults;
}

const imagenet = (size: number, width?: number): ModelDefaults => ({ inputShape: [size, size, 3], numClasses: 1000, width });
const mnist: ModelDefaults = { inputShape: [28, 28, 1], numClasses: 10, width: MNIST_CNN_WIDTH };

const MODELS = new Map<string, Registered>([
  ['mnist-cnn', { build: mnistCnn, defaults: mnist }],
  ['preact-resnet18', { build: (opts) => preActResNet(opts, [2, 2, 2, 2]), defaults: { inputShape: [32, 32, 3], numClasses: 10, width: PREACT_RESNET_WIDTH } }],
]);
for (const [name, arch] of Object.entries(RESNETS)) {
  MODELS.set(name, { build: (opts) => resNet(opts, arch, name), defaults: imagenet(224, RESNET_BASE_WIDTH) });
}
for (const [name, scaling] of Object.entries(EFFICIENTNETS)) {
  MODELS.set(name, { build: (opts) => efficientNet(opts, scaling, name), defaults: imagenet(scaling.resolution, EFFICIENTNET_WIDTH) });
}

/**
 * Bottleneck ResNets of 4 stages with b blocks each (depth 12b + 2): resnet14 (b = 1) and
 * resnet26 (b = 2) are the CPU-sized members of the ImageNet notebooks (ResNet-50 has
 * [3, 4, 6, 3]); 32x32 inputs, 10 classes by default.
 */
function smallResNet(name: string): Registered | undefined {
  const m = /^resnet(\d+)$/.exec(name);
  const depth = m ? Number(m[1]) : NaN;
  if (!(depth >= 14 && (depth - 2) % 12 === 0)) return undefined;
  const b = (depth - 2) / 12;
  return { build: (opts) => resNet(opts, { blocks: [b, b, b, b], groups: 1, widthPerGroup: 64 }, name), defaults: { inputShape: [32, 32, 3], numClasses: 10, width: RESNET_BASE_WIDTH } };
}

/** Resolvers for families of names, tried in order after the fixed names. */
const MODEL_PATTERNS: { example: string[]; resolve: (name: string) => Registered | undefined }[] = [
  { example: ['resnet14', 'resnet26'], resolve: smallResNet },
  // mnist-cnn-d<k>: the MNIST CNN with k conv layers (k/3 per stage), the depth axis of the 28-px scaling study.
  { example: ['mnist-cnn-d6', 'mnist-cnn-d9'], resolve: (name) => { const build = deepMnistCnn(name); return build && { build, defaults: mnist }; } },
];

export function modelNames(): string[] {
  return [...new Set([...MODELS.keys(), ...MODEL_PATTERNS.flatMap((p) => p.example)])];
}

/** Registers another architecture; without defaults it is an ImageNet model at 224×224. */
export function registerModel(name: string, builder: (opts: ModelOptions) => Model, defaults: ModelDefaults = imagenet(224)): void {
  MODELS.set(name, { build: builder, defaults });
}

function entry(name: string): Registered {
  const registered = MODELS.get(name) ?? MODEL_PATTERNS.map((p) => p.resolve(name)).find((r) => r !== undefined);
  if (!registered) throw new Error(`Unknown model '${name}'. Valid models: ${modelNames().join(', ')} (and resnet<12b+2> for b blocks per stage, mnist-cnn-d<3k> for k convs per stage).`);
  return registered;
}

export function buildModel(name: string, opts: ModelOptions): Model {
  const model = entry(name).build(opts);
  const spec = opts.activation === undefined ? undefined : parseActivation(opts.activation);
  return spec && isLearnable(spec) ? withLearnableActivation(model, spec) : model;
}

/** The published input shape and class count of a registered model, and its default width. */
export function modelDefaults(name: string): ModelDefaults {
  const { inputShape, numClasses, width } = entry(name).defaults;
  return { inputShape: [...inputShape], numClasses, ...(width === undefined ? {} : { width }) };
}

/** Total number of trainable parameters (BN running statistics are state, not counted). */
export function countParams(model: Model): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}
