import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, activationValue, erf, isLearnable, learnableSmoothRelu, makeActivation, parseActivation, type ActivationSpec } from '../lib/activations';
import { buildModel } from '../lib/models';
import { isDecayed } from '../lib/models/layers';
import { satStep, Sgd } from '../lib/train';
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
      if (!isLearnable(spec)) tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(makeActivation(spec, { gradient: 'smooth' })(t)))(x));
      tf.dispose(makeActivation(spec)(x));
    }
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

describe('activations: the official forms (GELU tanh, learnable SmoothReLU)', () => {
  before(testBackend);

  it('gelu-tanh is the tanh approximation, within 1e-3 of the exact GELU and not equal to it', () => {
    const xs = [-3, -1, -0.5, 0.5, 1, 3];
    const approx = values(makeActivation('gelu-tanh'), xs);
    const exact = values(makeActivation('gelu'), xs);
    xs.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      assert.ok(Math.abs(approx[i] - want) < 1e-6, `gelu-tanh(${x}) = ${approx[i]}, want ${want}`);
      assert.ok(Math.abs(approx[i] - exact[i]) < 1e-3);
    });
    assert.ok(xs.some((_, i) => approx[i] !== exact[i]), 'a different function from the erf form');
  });

  it('smoothrelu (fixed beta) equals the official relu(x - log(|x|·beta + 1)/beta)', () => {
    for (const beta of [5, 400]) {
      const fixed = values(makeActivation({ name: 'smoothrelu', param: beta }), POINTS);
      const official = tf.tidy(() => learnableSmoothRelu(tf.tensor1d(POINTS), tf.scalar(Math.sqrt(beta))).dataSync());
      POINTS.forEach((x, i) => assert.ok(Math.abs(fixed[i] - official[i]) <= 1e-5 * Math.max(1, Math.abs(x)), `beta ${beta}, x ${x}: ${fixed[i]} vs ${official[i]}`));
    }
  });

  it('smoothrelu-learnable: the gradient with respect to beta_raw matches finite differences', () => {
    const xs = [-2, -0.1, 0.01, 0.1, 0.7, 3];
    for (const raw of [3, 20]) {
      const g = tf.tidy(() => tf.grad((r: tf.Tensor) => tf.sum(learnableSmoothRelu(tf.tensor1d(xs), r)))(tf.scalar(raw)).dataSync()[0]);
      const f = (r: number) => xs.reduce((s, x) => s + Math.max(0, x - Math.log1p(Math.abs(x) * r * r) / (r * r)), 0);
      const h = 1e-4 * raw;
      const want = (f(raw + h) - f(raw - h)) / (2 * h);
      assert.ok(Math.abs(g - want) <= 1e-3 * Math.max(1e-3, Math.abs(want)) + 1e-6, `raw ${raw}: ${g} vs ${want}`);
      assert.ok(want > 0, 'a sharper beta moves the output toward ReLU, up');
    }
  });

  it('a model with smoothrelu-learnable has one trainable beta_raw per site, updated by training, with no leaks', () => {
    const before = tf.memory().numTensors;
    const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, width: 4, seed: 0, activation: 'smoothrelu-learnable' });
    const betas = [...model.params.keys()].filter((k) => k.endsWith('beta_raw'));
    assert.equal(betas.length, 3, 'three activation sites in the MNIST CNN');
    assert.equal(model.params.get(betas[0])!.dataSync()[0], 20, 'initialised to 20 as the official code');
    const opt = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 5e-4, decays: isDecayed });
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const act = makeActivation('smoothrelu-learnable');
    satStep(model, opt, x, y, { attack: null, attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.5, seed: 1 });
    const after = model.params.get(betas[0])!.dataSync()[0];
    assert.notEqual(after, 20, 'the optimizer updates beta_raw');
    assert.ok(Number.isFinite(after));
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
    assert.throws(() => makeActivation('smoothrelu-learnable', { gradient: 'smooth' }), /no smooth-surrogate gradient mode/);
  });
});
