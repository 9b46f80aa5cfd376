import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, activationValue, erf, makeActivation, parseActivation, type ActivationSpec } from '../lib/activations';
import { testBackend } from './helpers/backend';

const SPECS: ActivationSpec[] = [
  ...ACTIVATIONS.map((name) => ({ name })),
  { name: 'psoftplus', param: 1 },
  { name: 'psoftplus', param: 5 },
  { name: 'smoothrelu', param: 5 },
  { name: 'celu', param: 0.5 },
];
// Points near 0 (where ReLU's kink is), moderate, and large |x| where naive formulas overflow.
const POINTS = [-200, -80, -30, -5, -1.3, -0.5, -0.05, -1e-3, 1e-3, 0.05, 0.5, 1.3, 5, 30, 80, 200];

function values(fn: (x: tf.Tensor) => tf.Tensor, xs: number[]): Float32Array {
  return tf.tidy(() => fn(tf.tensor1d(xs)).dataSync() as Float32Array);
}

function grads(fn: (x: tf.Tensor) => tf.Tensor, xs: number[]): Float32Array {
  return tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(fn(x)))(tf.tensor1d(xs)).dataSync() as Float32Array);
}

/** Central difference of the float64 reference formula. */
function numericDerivative(spec: ActivationSpec, x: number): number {
  const h = 1e-6 * Math.max(1, Math.abs(x));
  return (activationValue(spec, x + h) - activationValue(spec, x - h)) / (2 * h);
}

describe('activations', () => {
  before(testBackend);

  for (const spec of SPECS) {
    const label = spec.param === undefined ? spec.name : `${spec.name}:${spec.param}`;
    it(`${label}: forward matches the float64 formula and stays finite`, () => {
      const y = values(makeActivation(spec), POINTS);
      POINTS.forEach((x, i) => {
        const want = activationValue(spec, x);
        assert.ok(Number.isFinite(y[i]), `${label}(${x}) = ${y[i]}`);
        assert.ok(Math.abs(y[i] - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${label}(${x}) = ${y[i]}, want ${want}`);
      });
    });

    it(`${label}: gradient matches finite differences, finite everywhere`, () => {
      const g = grads(makeActivation(spec), POINTS);
      POINTS.forEach((x, i) => {
        const want = numericDerivative(spec, x);
        assert.ok(Number.isFinite(g[i]), `${label}'(${x}) = ${g[i]}`);
        assert.ok(Math.abs(g[i] - want) <= 2e-4 * Math.max(1, Math.abs(want)), `${label}'(${x}) = ${g[i]}, finite difference ${want}`);
      });
    });
  }

  it('smooth gradient mode: ReLU forward, sigmoid(a·x) backward', () => {
    for (const a of [1, 10]) {
      const fn = makeActivation('relu', { gradient: 'smooth', surrogateA: a });
      const y = values(fn, POINTS);
      const g = grads(fn, POINTS);
      POINTS.forEach((x, i) => {
        assert.equal(y[i], Math.fround(Math.max(x, 0)));
        const want = 1 / (1 + Math.exp(-a * x));
        assert.ok(Math.abs(g[i] - want) < 1e-6, `a=${a}: grad at ${x} = ${g[i]}, want ${want}`);
      });
    }
  });

  it("ReLU's own gradient is the step function (the non-smooth one)", () => {
    const g = grads(makeActivation('relu'), [-0.1, 0.1]);
    assert.deepEqual(Array.from(g), [0, 1]);
  });

  it('erf reference is accurate', () => {
    // erf(0.5), erf(1), erf(3) from tables
    assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-12);
    assert.ok(Math.abs(erf(1) - 0.8427007929497149) < 1e-12);
    assert.ok(Math.abs(erf(-3) + 0.9999779095030014) < 1e-12);
  });

  it('parses names, aliases and parameters; rejects unknown ones with the valid list', () => {
    assert.deepEqual(parseActivation('swish'), { name: 'silu' });
    assert.deepEqual(parseActivation('psoftplus:5'), { name: 'psoftplus', param: 5 });
    assert.throws(() => parseActivation('relu6'), /Unknown activation 'relu6'.*relu, softplus/);
    assert.throws(() => parseActivation('psoftplus:-1'), /positive number/);
    assert.throws(() => makeActivation('silu', { gradient: 'weird' as never }), /gradient mode 'weird'.*own, smooth/);
  });

  it('leaks no tensors', () => {
    const x = tf.tensor1d(POINTS);
    const before = tf.memory().numTensors;
    for (const spec of SPECS) {
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(makeActivation(spec, { gradient: 'smooth' })(t)))(x));
      tf.dispose(makeActivation(spec)(x));
    }
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
