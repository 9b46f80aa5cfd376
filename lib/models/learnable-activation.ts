// Activations with a trainable parameter per activation site (the official SmoothReLU: one
// beta_raw per site, initialised to 20, beta = beta_raw²). The least invasive way through the
// models: every model already calls ctx.act at each site in a fixed order, so a wrapper counts
// the sites once with a probe pass, creates one scalar variable per site in the model's params
// (the optimizer updates them, checkpoints save them, like any weight) and, in every forward
// pass, hands the i-th call the i-th variable. The models themselves do not change.
import * as tf from '@tensorflow/tfjs';
import { type ActivationSpec, isLearnable, learnableSmoothRelu } from '../activations';
import type { ForwardContext } from './layers';
import type { Model } from './types';

/** The initial beta_raw of the official code (resnet_model.py: tf.constant_initializer(20.0)). */
export const SMOOTHRELU_BETA_RAW_INIT = 20;

/** The number of activation calls one forward pass of `model` makes. */
export function countActivationSites(model: Model): number {
  let n = 0;
  tf.tidy(() => {
    const ctx: ForwardContext = { training: false, act: (t) => (n++, t) };
    model.apply(tf.zeros([1, ...model.inputShape]) as tf.Tensor4D, ctx);
  });
  return n;
}

/**
 * `model` with a trainable parameter at each activation site for a learnable activation
 * (smoothrelu-learnable[:beta_raw_init]); the ctx.act callers pass is not used for these
 * models. Variables are named act/site<i>/beta_raw in model.params.
 */
export function withLearnableActivation(model: Model, spec: ActivationSpec): Model {
  if (!isLearnable(spec)) throw new Error(`withLearnableActivation: '${spec.name}' has no learnable parameter`);
  const init = spec.param ?? SMOOTHRELU_BETA_RAW_INIT;
  const sites = countActivationSites(model);
  const vars = Array.from({ length: sites }, () => tf.tidy(() => tf.variable(tf.scalar(init), true)));
  const params = new Map(model.params);
  vars.forEach((v, i) => params.set(`act/site${i}/beta_raw`, v));
  return {
    ...model,
    params,
    apply: (x, ctx) => {
      let i = 0;
      const act = (t: tf.Tensor) => {
        if (i >= sites) throw new Error(`${model.arch}: more activation calls than the ${sites} sites counted when the model was built`);
        return learnableSmoothRelu(t, vars[i++]);
      };
      const out = model.apply(x, { ...ctx, act });
      if (i !== sites) throw new Error(`${model.arch}: ${i} activation calls, ${sites} sites counted when the model was built`);
      return out;
    },
    dispose: () => {
      vars.forEach((v) => v.dispose());
      model.dispose();
    },
  };
}
