// The model registry: build any model by name.
import { mnistCnn } from './mnist-cnn';
import { preActResNet } from './preact-resnet';
import type { Model, ModelOptions } from './types';

export type { Model, ModelOptions } from './types';
export type { ForwardContext } from './layers';

const BUILDERS: Record<string, (opts: ModelOptions) => Model> = {
  'mnist-cnn': mnistCnn,
  'preact-resnet18': (opts) => preActResNet(opts, [2, 2, 2, 2]),
};

export function modelNames(): string[] {
  return Object.keys(BUILDERS);
}

/** Registers another architecture (used by the ImageNet model families). */
export function registerModel(name: string, builder: (opts: ModelOptions) => Model): void {
  BUILDERS[name] = builder;
}

export function buildModel(name: string, opts: ModelOptions): Model {
  const builder = BUILDERS[name];
  if (!builder) throw new Error(`Unknown model '${name}'. Valid models: ${modelNames().join(', ')}.`);
  return builder(opts);
}

/** Total number of trainable parameters. */
export function countParams(model: Model): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}
