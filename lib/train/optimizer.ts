// SGD with momentum (optionally Nesterov) in PyTorch's formulation, with weight decay applied
// only to the variables that `decays` selects (conv and dense kernels, not BN or biases).
import * as tf from '@tensorflow/tfjs';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** Which variables take weight decay, by name. */
  decays: (name: string) => boolean;
}

export class Sgd {
  /** Momentum buffers, created up front so a step allocates nothing that outlives it. */
  readonly velocity = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    private readonly opts: SgdOptions,
  ) {
    for (const [name, v] of params) this.velocity.set(name, tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  step(grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, nesterov, weightDecay, decays } = this.opts;
    tf.tidy(() => {
      for (const [name, w] of this.params) {
        const g0 = grads[name];
        if (!g0) throw new Error(`no gradient for variable '${name}': is it used by the model's forward pass?`);
        const g = weightDecay > 0 && decays(name) ? tf.add(g0, tf.mul(w, weightDecay)) : g0;
        const vel = this.velocity.get(name)!;
        const v = tf.add(tf.mul(vel, momentum), g);
        vel.assign(v);
        const update = nesterov ? tf.add(g, tf.mul(v, momentum)) : v;
        w.assign(tf.sub(w, tf.mul(update, lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
  }
}
