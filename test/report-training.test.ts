import { strict as assert } from 'node:assert';
import { epochCurves, overfittingCheck, plateauCheck, valCurve } from '../lib/report/training';
import { summarize } from '../lib/report/stats';
import type { EpochMetrics } from '../lib/train';

/** A run's log: one line per epoch with its validation PGD (and clean) accuracy. */
const log = (adv: (number | undefined)[], trainAcc = 0.9): { metrics: EpochMetrics[] } => ({
  metrics: adv.map((a, epoch) => ({ epoch, step: epoch + 1, loss: 1, acc: trainAcc, lr: 0.1, seconds: 1, images_per_s: 100, val_adv_acc: a, val_clean_acc: a === undefined ? undefined : a + 0.3 }) as EpochMetrics),
});

describe('report: training curves', () => {
  it('convergence: the change over the last quarter of training, mean over seeds, against a threshold in points', () => {
    const eight = [0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.551, 0.552];
    const p = plateauCheck([log(eight), log(eight.map((x) => x + 0.01))], 0.5)!;
    assert.equal(p.window, 2, 'a quarter of 8 epochs');
    assert.ok(Math.abs(p.change.mean - 0.002) < 1e-12);
    assert.equal(p.converged, true);
    assert.equal(plateauCheck([log([0.1, 0.2, 0.3, 0.4])], 0.5)!.converged, false, 'still climbing');
    assert.equal(plateauCheck([log([0.1, undefined])], 0.5), null, 'no whole curve');
    assert.deepEqual(valCurve(log([0.2]).metrics), [0.2]);
  });

  it('catastrophic overfitting: validation PGD collapses from its best epoch while training accuracy stays high', () => {
    assert.deepEqual(overfittingCheck(log([0.3, 0.45, 0.05], 0.95).metrics, 20), { best: 0.45, last: 0.05, trainAcc: 0.95, flagged: true });
    assert.equal(overfittingCheck(log([0.3, 0.45, 0.3]).metrics, 20)!.flagged, false, 'a 15-point dip is below 20');
    assert.equal(overfittingCheck(log([undefined]).metrics, 20), null);
  });

  it('per-epoch curves over seeds, up to the shortest run; none when an epoch has no validation value', () => {
    const c = epochCurves([log([0.1, 0.2, 0.3]), log([0.3, 0.4]), { metrics: [] }])!;
    assert.deepEqual(c.epochs, [1, 2]);
    assert.deepEqual(c.adv[1], summarize([0.2, 0.4]));
    assert.deepEqual(c.clean[0], summarize([0.1 + 0.3, 0.3 + 0.3]));
    assert.equal(epochCurves([log([0.1, undefined])]), null);
    assert.equal(epochCurves([]), null);
  });
});
