// The model registry: build any model by name, with the input it was published for.
import { EFFICIENTNETS, efficientNet } from './efficientnet';
import { mnistCnn } from './mnist-cnn';
import { preActResNet } from './preact-resnet';
import { RESNETS, resNet } from './resnet';
import type { Model, ModelOptions } from './types';

export type { Model, ModelOptions } from './types';
export type { ForwardContext } from './layers';

/** The input a model was published for, used by `sat models` and as a notebook's default. */
export interface ModelDefaults {
  inputShape: [number, number, number];
  numClasses: number;
}

interface Registered {
  build: (opts: ModelOptions) => Model;
  defaults: ModelDefaults;
}

const imagenet = (size: number): ModelDefaults => ({ inputShape: [size, size, 3], numClasses: 1000 });

const MODELS = new Map<string, Registered>([
  ['mnist-cnn', { build: mnistCnn, defaults: { inputShape: [28, 28, 1], numClasses: 10 } }],
  ['preact-resnet18', { build: (opts) => preActResNet(opts, [2, 2, 2, 2]), defaults: { inputShape: [32, 32, 3], numClasses: 10 } }],
]);
for (const [name, arch] of Object.entries(RESNETS)) {
  MODELS.set(name, { build: (opts) => resNet(opts, arch, name), defaults: imagenet(224) });
}
for (const [name, scaling] of Object.entries(EFFICIENTNETS)) {
  MODELS.set(name, { build: (opts) => efficientNet(opts, scaling, name), defaults: imagenet(scaling.resolution) });
}

export function modelNames(): string[] {
  return [...MODELS.keys()];
}

/** Registers another architecture; without defaults it is an ImageNet model at 224×224. */
export function registerModel(name: string, builder: (opts: ModelOptions) => Model, defaults: ModelDefaults = imagenet(224)): void {
  MODELS.set(name, { build: builder, defaults });
}

function entry(name: string): Registered {
  const registered = MODELS.get(name);
  if (!registered) throw new Error(`Unknown model '${name}'. Valid models: ${modelNames().join(', ')}.`);
  return registered;
}

export function buildModel(name: string, opts: ModelOptions): Model {
  return entry(name).build(opts);
}

/** The published input shape and class count of a registered model. */
export function modelDefaults(name: string): ModelDefaults {
  const { inputShape, numClasses } = entry(name).defaults;
  return { inputShape: [...inputShape], numClasses };
}

/** Total number of trainable parameters (BN running statistics are state, not counted). */
export function countParams(model: Model): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}
