// The attack registry (lib/attacks/index.ts) and each attack's config type and defaults, which
// live in the attack's own file. The defaults below are those the central resolver had before
// the registry replaced it (checked equal on every field and label).
import { strict as assert } from 'node:assert';
import { ATTACK_TYPES, attackLabel, type AttackConfig, makeAttack, resolveAttackConfig } from '../lib/attacks';

const DEFAULTS: [AttackConfig['type'], Record<string, unknown>, string][] = [
  ['fgsm', { steps: 1, stepSize: 0.1, randomStart: false, restarts: 0, targeted: false, norm: 'linf', targets: 0, queries: 0, pInit: 0 }, 'FGSM eps=0.1'],
  ['pgd-linf', { steps: 10, stepSize: 0.025, randomStart: true, restarts: 0, targeted: false, norm: 'linf', targets: 0, queries: 0, pInit: 0 }, 'PGD-10 L∞ eps=0.1'],
  ['pgd-l2', { steps: 10, stepSize: 0.025, randomStart: true, restarts: 0, targeted: false, norm: 'l2', targets: 0, queries: 0, pInit: 0 }, 'PGD-10 L2 eps=0.1'],
  ['apgd-ce', { steps: 100, stepSize: 0.2, randomStart: true, restarts: 0, targeted: false, norm: 'linf', targets: 0, queries: 0, pInit: 0 }, 'APGD-CE-100 L∞ eps=0.1'],
  ['apgd-dlr', { steps: 100, stepSize: 0.2, randomStart: true, restarts: 0, targeted: false, norm: 'linf', targets: 0, queries: 0, pInit: 0 }, 'APGD-DLR-100 L∞ eps=0.1'],
  ['apgd-t', { steps: 100, stepSize: 0.2, randomStart: true, restarts: 0, targeted: true, norm: 'linf', targets: 9, queries: 0, pInit: 0 }, 'APGD-T-100 L∞ eps=0.1 (9 targets)'],
  ['fab-t', { steps: 100, stepSize: 0, randomStart: false, restarts: 0, targeted: true, norm: 'linf', targets: 9, queries: 0, pInit: 0 }, 'FAB-T-100 L∞ eps=0.1 (9 targets)'],
  ['square', { steps: 5000, stepSize: 0, randomStart: false, restarts: 0, targeted: false, norm: 'linf', targets: 0, queries: 5000, pInit: 0.8 }, 'Square 5000 queries L∞ eps=0.1'],
];

describe('attacks: the registry', () => {
  it('lists every attack, in order, with its defaults and label; the attack it builds carries the resolved config', () => {
    assert.deepEqual(ATTACK_TYPES, DEFAULTS.map(([t]) => t));
    for (const [type, fields, label] of DEFAULTS) {
      const r = resolveAttackConfig({ type, eps: 0.1 });
      // JSON, so that the order of the fields is checked too (records and files keep it).
      assert.equal(JSON.stringify(r), JSON.stringify({ type, eps: 0.1, ...fields }), type);
      assert.equal(attackLabel(r), label);
      assert.deepEqual(makeAttack({ type, eps: 0.1 } as AttackConfig).config, r);
    }
    assert.equal(attackLabel({ type: 'pgd-linf', eps: 8 / 255, steps: 20, restarts: 2, targeted: true }), 'PGD-20 L∞ eps=8/255 x3 restarts targeted');
    assert.equal(attackLabel({ type: 'square', eps: 0.5, norm: 'l2', queries: 100 }), 'Square 100 queries L2 eps=0.5');
  });

  it("each config type refuses another attack's fields at compile time, and resolving refuses them at run time", () => {
    // The resolved form's zeros are accepted: a resolved config is a config.
    const resolvedForm: AttackConfig = { type: 'pgd-linf', eps: 0.1, queries: 0, pInit: 0, targets: 0 };
    assert.equal(resolveAttackConfig(resolvedForm).steps, 10);
    const unchecked = [
      // @ts-expect-error queries is Square's
      (): AttackConfig => ({ type: 'pgd-linf', eps: 0.1, queries: 100 }),
      // @ts-expect-error Square has no step size
      (): AttackConfig => ({ type: 'square', eps: 0.1, stepSize: 0.1 }),
      // @ts-expect-error APGD-CE has no targeted form
      (): AttackConfig => ({ type: 'apgd-ce', eps: 0.1, targeted: true }),
      // @ts-expect-error FGSM is L-inf by its name
      (): AttackConfig => ({ type: 'fgsm', eps: 0.1, norm: 'l2' }),
      // @ts-expect-error targets are for apgd-t and fab-t
      (): AttackConfig => ({ type: 'pgd-l2', eps: 0.1, targets: 3 }),
    ];
    const errors = [/queries is for square only/, /'square' has no step size/, /no targeted form/, /L-inf by its name/, /targets is for apgd-t and fab-t only/];
    unchecked.forEach((make, i) => assert.throws(() => makeAttack(make()), errors[i]));
  });
});
