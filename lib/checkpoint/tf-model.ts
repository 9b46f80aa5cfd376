// A released TensorFlow checkpoint as a model we can run: the architecture built, the weights
// imported (import.ts), and the activation as the official code computes it, per site where the
// checkpoint learned one (SmoothReLU's a).
import { type ActivationFn, type ActivationSpec, makeActivation, parseActivation } from '../activations';
import { buildModel, type Model, modelDefaults } from '../models';
import { EMA_SUFFIX, efficientNetScope, familyOf, importTfCheckpoint, resnetActivationSites, type TfFamily, type TfImportOptions, type TfImportReport } from './import';
import type { Checkpoint } from './reader';

/** The activation as the official code computes it for this family: ResNet's GELU is the tanh approximation (resnet_model.py gelu_fn). */
export function officialActivation(family: TfFamily, spec: ActivationSpec): ActivationFn {
  return makeActivation(family === 'resnet' && spec.name === 'gelu' ? { name: 'gelu-tanh' } : spec);
}

/**
 * A model whose activation differs per site (SmoothReLU with a learned a at each): every
 * forward pass walks the sites in order and checks each call's channel count, so a change
 * in the ResNet's layer order fails loudly instead of mixing up parameters.
 */
export function withSiteActivations(model: Model, sites: { site: string; channels: number; act: ActivationFn }[]): Model {
  return {
    ...model,
    apply: (x, ctx) => {
      let i = 0;
      const act: ActivationFn = (t) => {
        const s = sites[i++];
        if (!s || t.shape[t.shape.length - 1] !== s.channels) {
          throw new Error(`per-site activation out of step at call ${i} (${s ? `site ${s.site} expects ${s.channels} channels, got ${t.shape[t.shape.length - 1]}` : `only ${sites.length} sites`}): ${model.arch}'s layer order changed; update resnetActivationSites.`);
        }
        return s.act(t);
      };
      const out = model.apply(x, { ...ctx, act });
      if (i !== sites.length) throw new Error(`per-site activation: ${model.arch} applied ${i} activations, the checkpoint has ${sites.length} sites.`);
      return out;
    },
  };
}

export interface LoadTfModelOptions extends TfImportOptions {
  /** The activation the checkpoint was trained with ('silu', 'smoothrelu', …). */
  activation: string;
  /** Input side length; default the model's published one. */
  inputSize?: number;
}

export interface LoadedTfModel {
  model: Model;
  /** The activation to pass in ForwardContext (per-site models ignore it and use their own). */
  act: ActivationFn;
  activation: string;
  inputSize: number;
  report: TfImportReport;
}

/** Builds `arch`, loads the checkpoint into it and returns it with the official activation. */
export function loadTfModel(checkpoint: Checkpoint, opts: LoadTfModelOptions): LoadedTfModel {
  const family = familyOf(opts.arch);
  const spec = parseActivation(opts.activation);
  const defaults = modelDefaults(opts.arch);
  const inputSize = opts.inputSize ?? defaults.inputShape[0];
  const head = family === 'resnet' ? 'linear/W' : `${efficientNetScope(opts.arch)}/head/dense/kernel`;
  const headName = opts.movingAverage && checkpoint.has(head + EMA_SUFFIX) ? head + EMA_SUFFIX : head;
  const numClasses = checkpoint.has(headName) ? checkpoint.info(headName).shape[1] : defaults.numClasses;
  const built = buildModel(opts.arch, { inputShape: [inputSize, inputSize, 3], numClasses });
  try {
    const report = importTfCheckpoint(built, checkpoint, opts);
    const act = officialActivation(family, spec);
    if (report.activationParams.length > 0) {
      if (spec.name !== 'smoothrelu') {
        throw new Error(`${checkpoint.prefix} holds SmoothReLU parameters (${report.activationParams[0].tf}, …) but the activation is '${opts.activation}': pass --activation smoothrelu.`);
      }
      const channels = new Map(resnetActivationSites(built).map((s) => [s.site, s.channels]));
      const sites = report.activationParams.map((p) => ({ site: p.site, channels: channels.get(p.site)!, act: makeActivation({ name: 'smoothrelu', param: p.value }) }));
      return { model: withSiteActivations(built, sites), act, activation: 'smoothrelu (per-site a from the checkpoint)', inputSize, report };
    }
    return { model: built, act, activation: opts.activation, inputSize, report };
  } catch (e) {
    built.dispose();
    throw e;
  }
}
