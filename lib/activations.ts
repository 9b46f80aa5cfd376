// Activation functions and gradient modes.
//
// The paper's first study keeps ReLU in the forward pass and replaces only its gradient by the
// derivative of parametric Softplus, sigmoid(a·x) ("ReLU forward, smooth backward"). The
// attacker's and the trainer's gradient passes choose their mode independently, so an
// activation is built from a name, an optional parameter and a gradient mode.
import * as tf from '@tensorflow/tfjs';
import { nativeActivationCode, nativeSurrogateGradient, withNativeActivation } from './kernels/native-ops';

export const ACTIVATIONS = ['relu', 'softplus', 'psoftplus', 'silu', 'gelu', 'gelu-tanh', 'elu', 'celu', 'smoothrelu', 'smoothrelu-learnable', 'mish'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** 'own': the activation's own gradient. 'smooth': forward unchanged, backward sigmoid(a·x). */
export const GRADIENT_MODES = ['own', 'smooth'] as const;
export type GradientMode = (typeof GRADIENT_MODES)[number];

export type ActivationFn = (x: tf.Tensor) => tf.Tensor;

/**
 * Default parameter per activation: a for psoftplus, beta for smoothrelu, alpha for elu/celu,
 * and the initial beta_raw of smoothrelu-learnable (the official code's 20, so beta = 400).
 */
const DEFAULT_PARAM: Partial<Record<ActivationName, number>> = { psoftplus: 10, smoothrelu: 20, 'smoothrelu-learnable': 20, elu: 1, celu: 1 };

/** Activations with a trainable parameter per activation site (lib/models/learnable-activation.ts makes them model parameters). */
export function isLearnable(spec: ActivationSpec): boolean {
  return spec.name === 'smoothrelu-learnable';
}
/** The paper's surrogate gradient uses parametric Softplus with a = 10. */
export const DEFAULT_SURROGATE_A = 10;

export interface ActivationSpec {
  name: ActivationName;
  /** a for psoftplus and smoothrelu, alpha for elu and celu; ignored by the others. */
  param?: number;
}

/** Parses 'silu', 'psoftplus:5', 'smoothrelu:20' or 'swish' into a spec, with a clear error. */
export function parseActivation(text: string): ActivationSpec {
  const [rawName, rawParam] = text.trim().toLowerCase().split(':');
  const alias: Record<string, ActivationName> = { swish: 'silu', 'parametric-softplus': 'psoftplus' };
  const name = (alias[rawName] ?? rawName) as ActivationName;
  if (!ACTIVATIONS.includes(name)) {
    throw new Error(`Unknown activation '${text}'. Valid activations: ${ACTIVATIONS.join(', ')} (swish = silu; add ':a' for a parameter, e.g. psoftplus:10).`);
  }
  if (rawParam === undefined) return { name };
  // A parameter the function does not read would still name the run: 'silu:2' and 'silu' would be two arms and one model.
  if (!(name in DEFAULT_PARAM)) {
    throw new Error(`Activation '${name}' takes no parameter, got '${text}': drop ':${rawParam}'. Activations with one: ${Object.keys(DEFAULT_PARAM).map((n) => `${n}:x`).join(', ')}.`);
  }
  const param = Number(rawParam);
  if (!Number.isFinite(param) || param <= 0) {
    throw new Error(`Activation parameter in '${text}' must be a positive number, e.g. ${name}:10.`);
  }
  return { name, param };
}

export function activationLabel(spec: ActivationSpec): string {
  return spec.param === undefined ? spec.name : `${spec.name}:${spec.param}`;
}

function paramOf(spec: ActivationSpec): number {
  const p = spec.param ?? DEFAULT_PARAM[spec.name] ?? 1;
  if (!(p > 0)) throw new Error(`Activation '${spec.name}' needs a positive parameter, got ${p}.`);
  return p;
}

/**
 * The forward function. Each is composed of tfjs ops whose built-in gradients are exact and
 * stay finite at large |x|: exponentials only ever see min(x, 0), softplus is tfjs's stable one.
 */
function forwardFn(spec: ActivationSpec): ActivationFn {
  switch (spec.name) {
    case 'relu':
      return (x) => tf.relu(x);
    case 'softplus':
      return (x) => tf.softplus(x);
    case 'psoftplus': {
      const a = paramOf(spec);
      return (x) => tf.tidy(() => tf.div(tf.softplus(tf.mul(x, a)), a));
    }
    case 'silu':
      return (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
    case 'gelu':
      return (x) => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
    case 'gelu-tanh':
      // The tanh approximation the official SAT ResNet uses (resnet_model.py gelu_fn).
      return (x) =>
        tf.tidy(() => {
          const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_TANH_C)), Math.sqrt(2 / Math.PI));
          return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
        });
    case 'elu':
    case 'celu': {
      // celu(x) = max(0,x) + min(0, alpha·(exp(x/alpha) − 1)); elu is alpha = 1 (the only elu
      // the paper uses). exp(min(x,0)) cannot overflow, so the gradient never meets 0·Inf.
      const alpha = paramOf(spec);
      return (x) =>
        tf.tidy(() => tf.add(tf.relu(x), tf.mul(tf.sub(tf.exp(tf.div(tf.sub(x, tf.relu(x)), alpha)), 1), alpha))); // x - relu(x) = min(x, 0), fast on wasm
    }
    case 'smoothrelu': {
      // The official relu(x − log(|x|·β + 1)/β) with a fixed β: that is x − log(β·x + 1)/β for
      // x ≥ 0 and exactly 0 for x < 0, written on relu(x).
      const a = paramOf(spec);
      return (x) =>
        tf.tidy(() => {
          const r = tf.relu(x);
          return tf.sub(r, tf.div(tf.log1p(tf.mul(r, a)), a));
        });
    }
    case 'smoothrelu-learnable': {
      // Outside a model (plots, a single tensor): beta_raw at its initial value. Inside a model
      // each activation site has its own trainable beta_raw (learnableSmoothRelu).
      const raw = paramOf(spec);
      return (x) => tf.tidy(() => { const b = tf.scalar(raw); return learnableSmoothRelu(x, b); });
    }
    case 'mish':
      return (x) => tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x))));
  }
}

const GELU_TANH_C = 0.044715;

/**
 * The official SmoothReLU (resnet_model.py smoothrelu_fn): relu(x − log(|x|·β + 1)/β) with
 * β = beta_raw², so that beta_raw (a trainable scalar per site) gets exact gradients from tfjs's
 * ops. For x < 0 the argument is negative (log(1 + β|x|)/β > 0), so the output is 0.
 */
export function learnableSmoothRelu(x: tf.Tensor, betaRaw: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const beta = tf.mul(betaRaw, betaRaw);
    return tf.relu(tf.sub(x, tf.div(tf.log1p(tf.mul(tf.abs(x), beta)), beta)));
  });
}

/** Forward as `forward`, backward dy·sigmoid(a·x): the derivative of parametric Softplus. */
function withSmoothGradient(forward: ActivationFn, a: number): ActivationFn {
  const fn = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: forward(x),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => nativeSurrogateGradient(saved[0], dy, a) ?? tf.mul(dy, tf.sigmoid(tf.mul(saved[0], a))),
    };
  };
  return tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]) as ActivationFn;
}

export interface ActivationOptions {
  gradient?: GradientMode;
  /** a of the surrogate gradient sigmoid(a·x) in 'smooth' mode (default 10, as in the paper). */
  surrogateA?: number;
}

/** Builds the activation function used inside models. */
export function makeActivation(spec: ActivationSpec | ActivationName, opts: ActivationOptions = {}): ActivationFn {
  const s: ActivationSpec = typeof spec === 'string' ? parseActivation(spec) : spec;
  if (!ACTIVATIONS.includes(s.name)) parseActivation(s.name); // throws the clear error
  // With the native addon (wasm backend) the activation and its gradient are one call each.
  const forward = isLearnable(s) ? forwardFn(s) : withNativeActivation(nativeActivationCode(s.name, paramOf(s)), paramOf(s), forwardFn(s));
  const mode = opts.gradient ?? 'own';
  if (mode === 'smooth' && isLearnable(s)) throw new Error(`${s.name} learns its parameter per site: it has no smooth-surrogate gradient mode; use --attacker-grad own --trainer-grad own.`);
  if (mode === 'own') return forward;
  if (mode === 'smooth') return withSmoothGradient(forward, opts.surrogateA ?? DEFAULT_SURROGATE_A);
  throw new Error(`Unknown gradient mode '${mode}'. Valid modes: ${GRADIENT_MODES.join(', ')}.`);
}

/** Elementwise reference formulas in plain JS (for tests and plots of the curves). */
export function activationValue(spec: ActivationSpec, x: number): number {
  const p = paramOf(spec);
  const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  switch (spec.name) {
    case 'relu':
      return Math.max(x, 0);
    case 'softplus':
      return softplus(x);
    case 'psoftplus':
      return softplus(p * x) / p;
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu-tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + GELU_TANH_C * x * x * x)));
    case 'elu':
    case 'celu':
      return x > 0 ? x : p * Math.expm1(x / p);
    case 'smoothrelu':
      return x >= 0 ? x - Math.log1p(p * x) / p : 0;
    case 'smoothrelu-learnable':
      return Math.max(0, x - Math.log1p(Math.abs(x) * p * p) / (p * p));
    case 'mish':
      return x * Math.tanh(softplus(x));
  }
}

/** Abramowitz-Stegun 7.1.26 is too coarse for tests; this series/continued-fraction erf is ~1e-12. */
export function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    // Maclaurin series, converges fast for |x| < 2.5
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // continued fraction for erfc at large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}
