// The attacker's side of the paper's first study on its own: on one fixed trained model (ReLU
// forward), how much loss and accuracy drop does a one-step attack reach when it follows ReLU's
// exact gradient, compared with the smooth surrogate gradient sigmoid(a·x) for several a? The
// paper's claim is that the smooth gradient finds "harder adversarial examples".
// Every attacker gets the same random starts; every adversarial image is scored with the exact
// forward pass, so only the direction the attacker follows differs.
import * as tf from '@tensorflow/tfjs';
import { type ActivationSpec, makeActivation, parseActivation } from '../activations';
import { type AttackConfig, makeAttack } from '../attacks';
import { batches, disposeBatch, type ImageDataset } from '../data/dataset';
import { countCorrect, crossEntropy } from '../loss';
import type { Model } from '../models';
import { deriveSeed } from '../util/rng';

export interface AttackStrengthRow {
  /** 'clean' (no attack), 'exact' (the activation's own gradient) or 'smooth' (sigmoid(a·x)). */
  gradient: 'clean' | 'exact' | 'smooth';
  /** a of the surrogate gradient; null for clean and exact. */
  surrogateA: number | null;
  /** Mean cross-entropy of the model on the (adversarial) images, with the exact forward pass. */
  loss: number;
  accuracy: number;
  n: number;
}

export interface AttackStrengthOptions {
  /** The model's activation (default relu); its forward pass is used everywhere. */
  activation?: ActivationSpec | string;
  /** Values of a for the smooth surrogate gradient. */
  surrogateAs: number[];
  seed?: number;
  batchSize?: number;
}

/** One row for the clean images, one for the exact gradient, one per surrogate a. */
export function attackStrength(model: Model, data: ImageDataset, attack: AttackConfig, opts: AttackStrengthOptions): AttackStrengthRow[] {
  if (!Array.isArray(opts?.surrogateAs) || opts.surrogateAs.some((a) => !(a > 0))) {
    throw new Error(`attackStrength: surrogateAs must be a list of positive numbers (the a of sigmoid(a·x)), got ${JSON.stringify(opts?.surrogateAs)}`);
  }
  const given = opts.activation ?? 'relu';
  const spec: ActivationSpec = typeof given === 'string' ? parseActivation(given) : given;
  const exact = makeActivation(spec);
  const attackers: { row: Omit<AttackStrengthRow, 'loss' | 'accuracy' | 'n'>; act: typeof exact | null }[] = [
    { row: { gradient: 'clean', surrogateA: null }, act: null },
    { row: { gradient: 'exact', surrogateA: null }, act: exact },
    ...opts.surrogateAs.map((a) => ({ row: { gradient: 'smooth' as const, surrogateA: a }, act: makeActivation(spec, { gradient: 'smooth', surrogateA: a }) })),
  ];
  const att = makeAttack(attack);
  const sums = attackers.map(() => ({ loss: 0, correct: 0 }));
  let seen = 0;
  let i = 0;
  for (const b of batches(data, { batchSize: opts.batchSize ?? 100 })) {
    const seed = deriveSeed(opts.seed ?? 0, i++); // the same random start for every attacker
    attackers.forEach((a, k) => {
      const [loss, correct] = tf.tidy(() => {
        const x = a.act ? att.perturb((input) => model.apply(input, { training: false, act: a.act! }), b.x, b.y, { seed }) : b.x;
        const logits = model.apply(x, { training: false, act: exact });
        return [tf.sum(crossEntropy(logits, b.y)), countCorrect(logits, b.y)];
      });
      sums[k].loss += loss.dataSync()[0];
      sums[k].correct += correct.dataSync()[0];
      tf.dispose([loss, correct]);
    });
    seen += b.y.shape[0];
    disposeBatch(b);
  }
  return attackers.map((a, k) => ({ ...a.row, loss: sums[k].loss / Math.max(seen, 1), accuracy: sums[k].correct / Math.max(seen, 1), n: seen }));
}

/** A readable name for a row: "clean", "ReLU gradient (exact)", "smooth, a = 10". */
export function attackStrengthLabel(r: Pick<AttackStrengthRow, 'gradient' | 'surrogateA'>, activation = 'ReLU'): string {
  if (r.gradient === 'clean') return 'clean (no attack)';
  if (r.gradient === 'exact') return `${activation} gradient (exact)`;
  return `smooth sigmoid(a·x), a = ${r.surrogateA}`;
}
