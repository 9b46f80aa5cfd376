// The evaluation of a run that trained to its last step: clean and attacked accuracy on the
// test split, as result records that name the run and its variant.
import * as path from 'node:path';
import { activationLabel, parseActivation, type ActivationFn } from '../activations';
import { take, type DataSplits } from '../data';
import { evaluate, type ResultRecord } from '../eval';
import { evaluateStream } from '../eval/stream';
import type { Model } from '../models';
import type { TrainConfig } from './config';

export async function finalEvaluation(model: Model, data: DataSplits, c: TrainConfig, dir: string, act: ActivationFn, quiet?: boolean): Promise<ResultRecord[]> {
  const base = {
    run: path.basename(dir),
    experiment: c.experiment,
    dataset: data.test.name,
    synthetic: data.test.synthetic,
    model: c.model,
    activation: activationLabel(parseActivation(c.activation)),
    attackerGradient: c.attackerGradient,
    trainerGradient: c.trainerGradient,
    seed: c.seed,
    profile: c.profile,
  };
  const evalOpts = { act, seed: c.seed, label: quiet ? undefined : 'eval' };
  // A streamed data set is evaluated batch by batch from disk (ImageNet val holds 50,000 images).
  const limit = { batchSize: c.batchSize, limit: c.evaluation.size };
  return data.stream
    ? await evaluateStream(model, data.stream.test.batches(limit), c.evaluation.attacks, base, { ...evalOpts, totalBatches: data.stream.test.numBatches(c.batchSize, limit) })
    : evaluate(model, take(data.test, c.evaluation.size), c.evaluation.attacks, base, evalOpts);
}
