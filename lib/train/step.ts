// One SAT step: the attacker perturbs the batch (model in inference mode, BN frozen, its own
// gradient mode), then the trainer takes one optimizer step on the perturbed batch (training
// mode, its own gradient mode). Leaves no tensors behind.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import type { Attack } from '../attacks';
import { globalNorm, halfBatchCosine } from '../diagnostics/trainer-gradients';
import { countCorrect, crossEntropy } from '../loss';
import type { Model } from '../models';
import { deriveSeed } from '../util/rng';
import type { Sgd } from './optimizer';

export interface StepOptions {
  attack: Attack | null;
  /** Activation as the attacker differentiates it. */
  attackerAct: ActivationFn;
  /** Activation as the trainer differentiates it. */
  trainerAct: ActivationFn;
  labelSmoothing: number;
  lr: number;
  /** Seed of the attack's random start for this step. */
  seed?: number;
  /** Also measure the weight gradient's norm and half-batch cosine (lib/diagnostics/trainer-gradients.ts). */
  gradientStats?: boolean;
}

export interface StepResult {
  loss: number;
  /** Correctly classified examples of the (perturbed) batch, before the update. */
  correct: number;
  /** With gradientStats: the full batch's weight-gradient norm and the cosine of its two halves' gradients. */
  gradient?: { norm: number; halfCosine?: number };
}

export function satStep(model: Model, optimizer: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, opts: StepOptions): StepResult {
  const inputs = opts.attack
    ? opts.attack.perturb((input) => model.apply(input, { training: false, act: opts.attackerAct }), x, y, { seed: opts.seed })
    : x;
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    // The step's seed also drives random layers (drop-connect), so a resumed run repeats exactly.
    const logits = model.apply(inputs, { training: true, act: opts.trainerAct, seed: opts.seed === undefined ? undefined : deriveSeed(opts.seed, 2) });
    correct = tf.keep(countCorrect(logits, y));
    return tf.mean(crossEntropy(logits, y, opts.labelSmoothing)) as tf.Scalar;
  }, [...model.params.values()]);
  const loss = value.dataSync()[0];
  const result: StepResult = { loss, correct: correct!.dataSync()[0] };
  if (opts.gradientStats) {
    const halfCosine = halfBatchCosine(model, inputs, y, { act: opts.trainerAct, labelSmoothing: opts.labelSmoothing, seed: opts.seed === undefined ? undefined : deriveSeed(opts.seed, 2) });
    result.gradient = { norm: globalNorm(Object.values(grads)), halfCosine };
  }
  // tfjs keys gradients by its internal variable names; the optimizer wants ours.
  const named: tf.NamedTensorMap = {};
  for (const [name, v] of model.params) named[name] = grads[v.name];
  if (inputs !== x) inputs.dispose();
  if (Number.isFinite(loss)) optimizer.step(named, opts.lr);
  tf.dispose([value, correct!, ...Object.values(grads)]);
  return result;
}
