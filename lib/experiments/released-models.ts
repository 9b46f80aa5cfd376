// Notebook 06: the released SAT checkpoints against the README's table. Settings per profile,
// the generated stand-in used when no checkpoint or no ImageNet is present, and the
// comparison rows.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCheckpoint } from '../checkpoint';
import { tfCheckpointTensors } from '../checkpoint/import';
import { RELEASED_MODELS, type FoundCheckpoint, type ReleasedModel } from '../checkpoint/released';
import { syntheticImageFolder } from '../data/synthetic';
import { officialAttack } from '../eval/official';
import type { CheckpointEvalResult } from '../eval/released-models';
import { buildModel } from '../models';
import type { Profile } from './profiles';

export interface ReleasedModelsSettings {
  /** Real ImageNet: images per checkpoint (undefined: all 50,000). */
  limit?: number;
  /** Real ImageNet: PGD steps (the README's are 10, 20, 50). */
  steps: number[];
  batchSize: number;
  /** Real ImageNet: evaluate at most this many of the checkpoints found. */
  maxCheckpoints: number;
  /** The generated stand-in: a random-weight checkpoint with official names on a synthetic folder. */
  standIn: { name: string; arch: string; activation: string; inputSize: number; images: number; steps: number[]; seed: number };
}

export function releasedModelsSettings(profile: Profile): ReleasedModelsSettings {
  // The stand-in is a ResNet-50 (25.6M parameters) like Res50-silu; only its input size and
  // the attack length shrink with the profile, so that smoke runs in a minute on 2 CPU cores.
  const standIn = (inputSize: number, images: number, steps: number[]) => ({ name: 'random-Res50-silu', arch: 'resnet50', activation: 'silu', inputSize, images, steps, seed: 6 });
  switch (profile) {
    case 'smoke':
      return { limit: 4, steps: [1, 2], batchSize: 4, maxCheckpoints: 1, standIn: standIn(64, 4, [1, 2]) };
    case 'medium': // no medium design of its own: the small one
    case 'small':
      return { limit: 32, steps: [10], batchSize: 8, maxCheckpoints: 2, standIn: standIn(96, 8, [10, 20, 50]) };
    case 'paper':
      return { limit: undefined, steps: [10, 20, 50], batchSize: 32, maxCheckpoints: RELEASED_MODELS.length, standIn: standIn(224, 16, [10, 20, 50]) };
  }
}

export interface StandIn {
  /** Checkpoint prefix, under a folder in the system's temp dir. */
  prefix: string;
  /** Root of the generated image folder. */
  data: string;
  /** Variables written and their total elements. */
  variables: number;
  elements: number;
  /** Removes both. */
  cleanup(): void;
}

/**
 * Writes a checkpoint with the official names and shapes and RANDOM weights (our model with a
 * fixed seed, exported through the inverse name map, the stem flipped to BGR), and a small
 * synthetic image folder, so the released-model pipeline can run without the real files.
 */
export function writeStandIn(s: ReleasedModelsSettings['standIn']): StandIn {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-06-'));
  const prefix = path.join(root, s.name, s.name);
  fs.mkdirSync(path.dirname(prefix));
  const model = buildModel(s.arch, { inputShape: [s.inputSize, s.inputSize, 3], numClasses: 1000, seed: s.seed });
  try {
    const tensors = tfCheckpointTensors(model, { arch: s.arch });
    writeCheckpoint(prefix, tensors.map((t) => ({ name: t.name, dtype: 'float32', shape: t.shape, data: t.values })));
    const classes = Math.max(2, Math.min(10, s.images));
    const data = syntheticImageFolder(path.join(root, 'synthetic-imagenet-val'), { classes, perClass: 1, valPerClass: Math.ceil(s.images / classes), size: Math.round(s.inputSize * 1.15), seed: s.seed }).root;
    return { prefix, data, variables: tensors.length, elements: tensors.reduce((n, t) => n + t.values.length, 0), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
  } catch (e) {
    fs.rmSync(root, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
}

const pct = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));

/** The README's rows with what is on disk: one row per release. */
export function catalogRows(found: FoundCheckpoint[]): Record<string, string>[] {
  return RELEASED_MODELS.map((m) => ({
    release: m.name,
    model: `${m.arch}, ${m.activation}, ${m.inputSize}px${m.movingAverage ? ', EMA weights' : ''}`,
    'README clean': pct(m.readme?.clean),
    'README PGD-10': pct(m.readme?.pgd10),
    'README PGD-20': pct(m.readme?.pgd20),
    'README PGD-50': pct(m.readme?.pgd50),
    'on disk': found.find((f) => f.model.name === m.name)?.prefix ?? 'no',
  }));
}

/** The README's numbers beside the measured ones (accuracy %, with the number of images measured). */
export function comparisonRows(results: { label: string; released?: ReleasedModel; result: CheckpointEvalResult }[]): Record<string, string>[] {
  return results.flatMap(({ label, released, result }) =>
    result.records.map((r) => {
      const metric = r.attack === 'clean' ? 'clean' : `PGD-${r.steps}`;
      const readme = released?.readme;
      const official = !readme ? undefined : r.attack === 'clean' ? readme.clean : ({ 10: readme.pgd10, 20: readme.pgd20, 50: readme.pgd50 } as Record<number, number | undefined>)[r.steps];
      return {
        checkpoint: label,
        metric: r.attack === 'clean' ? metric : `${metric} (eps 4/255, step ${Math.round(officialAttack(r.steps).stepSize * 255)}/255)`,
        'README (50,000 images)': pct(official),
        measured: (100 * r.accuracy).toFixed(1),
        images: String(r.n),
        data: `${r.dataset}${r.synthetic ? ' (SYNTHETIC)' : ''}`,
      };
    }),
  );
}
