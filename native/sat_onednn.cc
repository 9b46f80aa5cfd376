// oneDNN (2.x API) convolutions that run in place on the memory of tfjs's wasm backend.
//
// JS hands us the wasm Memory's ArrayBuffer (re-read on every call: the memory can grow, which
// replaces the buffer) and byte offsets of the tensors in it; we wrap those addresses in oneDNN
// memory objects, so no tensor is copied in or out. Tensors are NHWC; filters are tfjs's HWIO
// ([KH, KW, Ci, Co]; depthwise [KH, KW, C, M] as C groups of M outputs).
//
// Per conv geometry we cache the primitive, and the weights in the layout oneDNN prefers
// (format_tag::any): with plain HWIO weights oneDNN 2.6 falls back to a gemm path 1.5-2x slower.
// The weights reorder runs only when the filter tensor changed (JS passes a token per tfjs
// tensor, and tfjs tensors are immutable), so PGD's repeated passes over one set of weights pay
// it once. Scratchpads are ours (scratchpad_mode::user), one buffer grown as needed.
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// Geometry slots of the Int32Array JS passes (keep in sync with lib/kernels/native-addon.ts).
enum G { N, IH, IW, IC, OC, KH, KW, OH, OW, SH, SW, DH, DW, PT, PL, PB, PR, GROUPS, ACT, HAS_BIAS, G_COUNT };
enum Op { FWD = 0, BWD_DATA = 1, BWD_WEIGHTS = 2 };
// Post-op activations: those of FusedConv2D (tfjs names: linear, relu, relu6, elu, leakyrelu,
// sigmoid), then the ones of our models that oneDNN has as eltwise (convBn's fused activation;
// keep in sync with POST_OP in lib/kernels/native-addon.ts).
enum Act { LINEAR = 0, RELU = 1, RELU6 = 2, ELU = 3, LEAKY = 4, SIGMOID = 5, SWISH = 6, GELU_ERF = 7, GELU_TANH = 8, SOFT_RELU = 9, MISH = 10 };

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

/** One scratchpad for every primitive (they run one at a time, on the JS thread). */
struct Scratch {
  void* ptr = nullptr;
  size_t size = 0;
  void* get(size_t need) {
    if (need > size) {
      std::free(ptr);
      size = (need + 4095) / 4096 * 4096;
      ptr = std::aligned_alloc(64, size);
      if (!ptr) {
        size = 0;
        throw std::bad_alloc();
      }
    }
    return ptr;
  }
} scratch;

struct Geometry {
  int32_t g[G_COUNT];
  memory::dims src() const { return {g[N], g[IC], g[IH], g[IW]}; }
  memory::dims dst() const { return {g[N], g[OC], g[OH], g[OW]}; }
  bool grouped() const { return g[GROUPS] > 1; }
  memory::dims weights() const {
    if (grouped()) return {g[GROUPS], g[OC] / g[GROUPS], g[IC] / g[GROUPS], g[KH], g[KW]};
    return {g[OC], g[IC], g[KH], g[KW]};
  }
  /** tfjs's filter layout: [KH, KW, Ci/G, Co] with output channel o = group * (Co/G) + j. */
  memory::desc userWeights() const {
    const memory::dim oc = g[OC], icg = g[IC] / g[GROUPS], kw = g[KW];
    if (grouped()) {
      const memory::dim ocg = oc / g[GROUPS];
      return memory::desc(weights(), dt::f32, memory::dims{ocg, 1, icg * oc, kw * icg * oc, icg * oc});
    }
    return memory::desc(weights(), dt::f32, memory::dims{1, oc, kw * icg * oc, icg * oc});
  }
  memory::dims strides() const { return {g[SH], g[SW]}; }
  memory::dims dilates() const { return {g[DH] - 1, g[DW] - 1}; }
  memory::dims padL() const { return {g[PT], g[PL]}; }
  memory::dims padR() const { return {g[PB], g[PR]}; }
  size_t srcBytes() const { return 4ull * g[N] * g[IH] * g[IW] * g[IC]; }
  size_t dstBytes() const { return 4ull * g[N] * g[OH] * g[OW] * g[OC]; }
  size_t weightsBytes() const { return 4ull * g[KH] * g[KW] * (g[IC] / g[GROUPS]) * g[OC]; }
  std::string key(int op, float alpha, bool folded) const {
    std::ostringstream k;
    k << op << (folded ? "f" : "");
    for (int i = 0; i < G_COUNT; i++) k << ',' << g[i];
    k << ',' << alpha;
    return k.str();
  }
};

memory::desc nhwc(const memory::dims& d) { return memory::desc(d, dt::f32, tag::nhwc); }
memory::desc anyLayout(const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); }

dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}


void appendActivation(dnnl::post_ops& ops, int act, float alpha) {
  switch (act) {
    case LINEAR: return;
    case RELU: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); return;
    case RELU6: ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); return;
    case ELU: ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); return;
    case LEAKY: ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); return;
    case SIGMOID: ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); return;
    case SWISH: ops.append_eltwise(1.f, algorithm::eltwise_swish, 1.f, 0.f); return;
    case GELU_ERF: ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f); return;
    case GELU_TANH: ops.append_eltwise(1.f, algorithm::eltwise_gelu_tanh, 0.f, 0.f); return;
    case SOFT_RELU: ops.append_eltwise(1.f, algorithm::eltwise_soft_relu, 0.f, 0.f); return;
    case MISH: ops.append_eltwise(1.f, algorithm::eltwise_mish, 0.f, 0.f); return;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry& g, prop_kind pk, const dnnl::primitive_attr& attr) {
  const auto src = nhwc(g.src()), dst = nhwc(g.dst()), w = anyLayout(g.weights());
  if (g.g[HAS_BIAS]) {
    const memory::desc bias({g.g[OC]}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(pk, algorithm::convolution_direct, src, w, bias, dst, g.strides(), g.dilates(), g.padL(), g.padR());
    return dnnl::convolution_forward::primitive_desc(d, attr, engine());
  }
  dnnl::convolution_forward::desc d(pk, algorithm::convolution_direct, src, w, dst, g.strides(), g.dilates(), g.padL(), g.padR());
  return dnnl::convolution_forward::primitive_desc(d, attr, engine());
}

/** A cached primitive for one op and geometry, with its weights in the layout it wants. */
struct Entry {
  dnnl::primitive prim;
  memory::desc srcMd, dstMd, userWeightsMd, weightsMd;
  bool reorderWeights = false;
  dnnl::primitive reorder;                  // user -> primitive layout (fwd, bwd-data) or back (bwd-weights)
  std::unique_ptr<memory> weights;          // the weights (or weight gradient) in the primitive's layout
  double token = -1;                        // which filter tensor `weights` holds (fwd, bwd-data)
  size_t scratchBytes = 0;
  std::string impl;
};

std::unordered_map<std::string, std::unique_ptr<Entry>> cache;
constexpr size_t kMaxEntries = 512;

/**
 * `folded`: convBn's (forward: batch norm's scale and shift as post-ops; backward data: the
 * weights it holds are the scale times the filter), not a plain conv's.
 */
Entry& entryFor(int op, const Geometry& g, float alpha, bool folded = false) {
  const std::string key = g.key(op, alpha, folded);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  auto e = std::make_unique<Entry>();
  e->srcMd = nhwc(g.src());
  e->dstMd = nhwc(g.dst());
  e->userWeightsMd = g.userWeights();
  dnnl::primitive_attr attr = userScratchpad();
  if (op == FWD) {
    dnnl::post_ops ops;
    if (folded) {  // convBn: y = conv * scale + shift per output channel, then the activation
      const memory::desc perChannel({1, g.g[OC], 1, 1}, dt::f32, tag::nchw);
      ops.append_binary(algorithm::binary_mul, perChannel);
      ops.append_binary(algorithm::binary_add, perChannel);
    }
    appendActivation(ops, g.g[ACT], alpha);
    attr.set_post_ops(ops);
    auto pd = forwardPd(g, prop_kind::forward_inference, attr);
    e->prim = dnnl::convolution_forward(pd);
    e->weightsMd = pd.weights_desc();
    e->scratchBytes = pd.scratchpad_desc().get_size();
    e->impl = pd.impl_info_str();
  } else {
    if (g.g[ACT] != LINEAR || g.g[HAS_BIAS]) throw std::invalid_argument("conv gradients take no bias or activation");
    auto hint = forwardPd(g, prop_kind::forward_training, dnnl::primitive_attr());
    const auto w = anyLayout(g.weights());
    if (op == BWD_DATA) {
      dnnl::convolution_backward_data::desc d(algorithm::convolution_direct, e->srcMd, w, e->dstMd, g.strides(), g.dilates(), g.padL(), g.padR());
      dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine(), hint);
      e->prim = dnnl::convolution_backward_data(pd);
      e->weightsMd = pd.weights_desc();
      e->scratchBytes = pd.scratchpad_desc().get_size();
      e->impl = pd.impl_info_str();
    } else if (op == BWD_WEIGHTS) {
      dnnl::convolution_backward_weights::desc d(algorithm::convolution_direct, e->srcMd, w, e->dstMd, g.strides(), g.dilates(), g.padL(), g.padR());
      dnnl::convolution_backward_weights::primitive_desc pd(d, attr, engine(), hint);
      e->prim = dnnl::convolution_backward_weights(pd);
      e->weightsMd = pd.diff_weights_desc();
      e->scratchBytes = pd.scratchpad_desc().get_size();
      e->impl = pd.impl_info_str();
    } else {
      throw std::invalid_argument("unknown op " + std::to_string(op));
    }
  }
  e->reorderWeights = e->weightsMd != e->userWeightsMd;
  if (e->reorderWeights) {
    e->weights = std::make_unique<memory>(e->weightsMd, engine());
    e->reorder = op == BWD_WEIGHTS ? dnnl::reorder(dnnl::reorder::primitive_desc(engine(), e->weightsMd, engine(), e->userWeightsMd))
                                   : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), e->userWeightsMd, engine(), e->weightsMd));
  }
  // Shapes are few per model; a process that sees ever new ones (varying batch sizes) starts over.
  if (cache.size() >= kMaxEntries) cache.clear();
  Entry& ref = *e;
  cache.emplace(key, std::move(e));
  return ref;
}

/**
 * Runs one conv op on these tensors:
 *   FWD:         a = x,  b = filter, c = y,      d = bias (or null)
 *   BWD_DATA:    a = dy, b = filter, c = dx
 *   BWD_WEIGHTS: a = x,  b = dy,     c = dfilter
 * token names the filter's values (negative: unknown, reorder it).
 */
void run(int op, const Geometry& g, void* a, void* b, void* c, void* d, double token, float alpha, bool folded = false, const float* scale = nullptr) {
  Entry& e = entryFor(op, g, alpha, folded);
  auto& eng = engine();
  auto& s = stream();
  std::unordered_map<int, memory> args;
  memory scratchMem(e.scratchBytes ? memory::desc({static_cast<memory::dim>(e.scratchBytes)}, dt::u8, tag::x) : memory::desc(), eng,
                    e.scratchBytes ? scratch.get(e.scratchBytes) : nullptr);
  if (e.scratchBytes) args.emplace(DNNL_ARG_SCRATCHPAD, scratchMem);
  if (op == BWD_WEIGHTS) {
    memory user(e.userWeightsMd, eng, c);
    args.emplace(DNNL_ARG_SRC, memory(e.srcMd, eng, a));
    args.emplace(DNNL_ARG_DIFF_DST, memory(e.dstMd, eng, b));
    args.emplace(DNNL_ARG_DIFF_WEIGHTS, e.reorderWeights ? *e.weights : user);
    e.prim.execute(s, args);
    if (e.reorderWeights) e.reorder.execute(s, {{DNNL_ARG_FROM, *e.weights}, {DNNL_ARG_TO, user}});
    s.wait();
    return;
  }
  memory user(e.userWeightsMd, eng, b);
  if (e.reorderWeights && (token < 0 || token != e.token)) {
    e.token = -1;  // stays invalid if the reorder throws
    e.reorder.execute(s, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, *e.weights}});
    e.token = token;
  }
  args.emplace(DNNL_ARG_WEIGHTS, e.reorderWeights ? *e.weights : user);
  if (op == FWD) {
    args.emplace(DNNL_ARG_SRC, memory(e.srcMd, eng, a));
    args.emplace(DNNL_ARG_DST, memory(e.dstMd, eng, c));
    if (g.g[HAS_BIAS]) args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.g[OC]}, dt::f32, tag::x), eng, d));
    if (folded) {  // the post-ops' operands: scale, then shift (d)
      const memory::desc perChannel({1, g.g[OC], 1, 1}, dt::f32, tag::nchw);
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, memory(perChannel, eng, const_cast<float*>(scale)));
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, memory(perChannel, eng, d));
    }
  } else {
    args.emplace(DNNL_ARG_DIFF_DST, memory(e.dstMd, eng, a));
    args.emplace(DNNL_ARG_DIFF_SRC, memory(e.srcMd, eng, c));
  }
  e.prim.execute(s, args);
  s.wait();
}

// ---------------------------------------------------------------------------------------------
// A convolution followed by batch norm with frozen statistics (an attack's forward pass), as one
// convolution: with s = gamma / sqrt(variance + eps), BN(conv(x, w)) = conv(x, w) * s + (beta -
// mean * s). Forward, the scale and shift are post-ops, and an activation can follow as a third;
// the x-gradient of the pair is the backward-data conv with the filter folded, each output
// channel scaled by s (dx = conv_bwd_data(dz * s, w) = conv_bwd_data(dz, w * s)). Weights are
// reordered (and folded) only when the token (one per filter, gamma and variance) changes.

/** Offsets of the batch norm's per-channel tensors, in this order. */
enum BnStat { S_GAMMA, S_BETA, S_MEAN, S_VARIANCE, S_COUNT };

void convBn(int op, uint8_t* base, Geometry g, double x, double filter, double out, const double* stats, float eps, double token) {
  auto at = [base](double off) { return static_cast<void*>(base + static_cast<size_t>(off)); };
  auto chan = [&](int k) { return static_cast<const float*>(at(stats[k])); };
  const int oc = g.g[OC];
  std::vector<float> scale(oc), shift(oc);
  for (int o = 0; o < oc; o++) {
    scale[o] = chan(S_GAMMA)[o] / std::sqrt(chan(S_VARIANCE)[o] + eps);
    shift[o] = chan(S_BETA)[o] - chan(S_MEAN)[o] * scale[o];
  }
  // Forward, scale and shift are post-ops after the conv, in the composite's order: a conv that
  // overflows gives inf * scale, NaN where the scale is 0 (an infinite variance), as tfjs's
  // batch norm does, so a diverged model's outputs stay non-finite (folding would give 0).
  if (op == FWD) return run(op, g, at(x), at(filter), at(out), shift.data(), token, 0.f, true, scale.data());
  Entry& e = entryFor(op, g, 0.f, true);
  std::vector<float> folded;
  if (!(e.reorderWeights && token >= 0 && token == e.token)) {
    // tfjs's HWIO filter: the output channel is the fastest dimension.
    const float* w = static_cast<const float*>(at(filter));
    folded.resize(g.weightsBytes() / 4);
    for (size_t i = 0; i < folded.size(); i++) folded[i] = w[i] * scale[i % oc];
  }
  run(op, g, at(x), folded.empty() ? nullptr : folded.data(), at(out), nullptr, token, 0.f, true);
}

// ---------------------------------------------------------------------------------------------
// Batch normalization and activations, in place on the heap like the convolutions.
//
// Batch norm is oneDNN's primitive on NHWC data ([N, H, W, C] as dims {N, C, H, W}), with the
// per-channel scale (gamma) and shift (beta): inference (given mean and variance), training
// (the batch's mean and biased variance written out) and backward (dx, dgamma, dbeta).
// Activations and their gradients are oneDNN eltwise primitives where oneDNN has the function,
// else our own OpenMP loops (codes: keep in sync with NATIVE_ACTIVATION in lib/kernels/native-addon.ts).

enum ActCode { A_RELU = 0, A_SILU = 1, A_GELU_ERF = 2, A_GELU_TANH = 3, A_ELU = 4, A_SOFTPLUS = 5, A_MISH = 6,
               A_PSOFTPLUS = 7, A_SMOOTHRELU = 8, A_CELU = 9, A_SURROGATE = 10, A_COUNT };
enum BnMode { BN_INFERENCE = 0, BN_TRAINING = 1, BN_BACKWARD = 2 };

/** A cached primitive that is not a convolution (no weights to reorder). */
struct Plain {
  dnnl::primitive prim;
  size_t scratchBytes = 0;
};
std::unordered_map<std::string, std::unique_ptr<Plain>> plainCache;

template <typename Make>
Plain& plainFor(const std::string& key, Make make) {
  auto found = plainCache.find(key);
  if (found != plainCache.end()) return *found->second;
  auto p = std::make_unique<Plain>();
  make(*p);
  if (plainCache.size() >= kMaxEntries) plainCache.clear();
  Plain& ref = *p;
  plainCache.emplace(key, std::move(p));
  return ref;
}

/** Runs a primitive with our scratchpad added to its arguments, and waits for it. */
void execute(Plain& p, std::unordered_map<int, memory>& args) {
  if (p.scratchBytes) args.emplace(DNNL_ARG_SCRATCHPAD, memory(memory::desc({static_cast<memory::dim>(p.scratchBytes)}, dt::u8, tag::x), engine(), scratch.get(p.scratchBytes)));
  p.prim.execute(stream(), args);
  stream().wait();
}

const auto kScaleShift = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

dnnl::batch_normalization_forward::primitive_desc bnForwardPd(const memory::desc& data, float eps, bool training, const dnnl::primitive_attr& attr) {
  const auto flags = training ? kScaleShift : kScaleShift | dnnl::normalization_flags::use_global_stats;
  dnnl::batch_normalization_forward::desc d(training ? prop_kind::forward_training : prop_kind::forward_inference, data, eps, flags);
  return dnnl::batch_normalization_forward::primitive_desc(d, attr, engine());
}

/**
 * Batch norm over dims = {N, H, W, C}; offsets (bytes; -1 unused):
 *   INFERENCE: x, scale, shift, mean, variance -> y
 *   TRAINING:  x, scale, shift -> y, mean, variance
 *   BACKWARD:  x, dy, scale, shift, mean, variance -> dx, dscale, dshift
 * o[] holds them in that order. (oneDNN 2.6's backward pass with use_shift insists on the shift
 * as an input, though the gradient does not depend on it.)
 */
void batchNorm(int mode, uint8_t* base, const int32_t* dims, float eps, const double* o) {
  const memory::desc data({dims[0], dims[3], dims[1], dims[2]}, dt::f32, tag::nhwc);
  const memory::desc channel({dims[3]}, dt::f32, tag::x);
  std::ostringstream k;
  k << "bn," << mode << ',' << dims[0] << ',' << dims[1] << ',' << dims[2] << ',' << dims[3] << ',' << eps;
  Plain& p = plainFor(k.str(), [&](Plain& p) {
    const auto attr = userScratchpad();
    if (mode == BN_BACKWARD) {
      auto hint = bnForwardPd(data, eps, true, dnnl::primitive_attr());
      dnnl::batch_normalization_backward::desc d(prop_kind::backward, data, data, eps, kScaleShift);
      dnnl::batch_normalization_backward::primitive_desc pd(d, attr, engine(), hint);
      p.prim = dnnl::batch_normalization_backward(pd);
      p.scratchBytes = pd.scratchpad_desc().get_size();
    } else {
      auto pd = bnForwardPd(data, eps, mode == BN_TRAINING, attr);
      p.prim = dnnl::batch_normalization_forward(pd);
      p.scratchBytes = pd.scratchpad_desc().get_size();
    }
  });
  auto at = [base](double off) { return static_cast<void*>(base + static_cast<size_t>(off)); };
  auto& eng = engine();
  std::unordered_map<int, memory> args;
  if (mode == BN_BACKWARD) {
    args.emplace(DNNL_ARG_SRC, memory(data, eng, at(o[0])));
    args.emplace(DNNL_ARG_DIFF_DST, memory(data, eng, at(o[1])));
    args.emplace(DNNL_ARG_SCALE, memory(channel, eng, at(o[2])));
    args.emplace(DNNL_ARG_SHIFT, memory(channel, eng, at(o[3])));
    args.emplace(DNNL_ARG_MEAN, memory(channel, eng, at(o[4])));
    args.emplace(DNNL_ARG_VARIANCE, memory(channel, eng, at(o[5])));
    args.emplace(DNNL_ARG_DIFF_SRC, memory(data, eng, at(o[6])));
    args.emplace(DNNL_ARG_DIFF_SCALE, memory(channel, eng, at(o[7])));
    args.emplace(DNNL_ARG_DIFF_SHIFT, memory(channel, eng, at(o[8])));
  } else {
    args.emplace(DNNL_ARG_SRC, memory(data, eng, at(o[0])));
    args.emplace(DNNL_ARG_SCALE, memory(channel, eng, at(o[1])));
    args.emplace(DNNL_ARG_SHIFT, memory(channel, eng, at(o[2])));
    if (mode == BN_INFERENCE) {
      args.emplace(DNNL_ARG_MEAN, memory(channel, eng, at(o[3])));
      args.emplace(DNNL_ARG_VARIANCE, memory(channel, eng, at(o[4])));
      args.emplace(DNNL_ARG_DST, memory(data, eng, at(o[5])));
    } else {
      args.emplace(DNNL_ARG_DST, memory(data, eng, at(o[3])));
      args.emplace(DNNL_ARG_MEAN, memory(channel, eng, at(o[4])));
      args.emplace(DNNL_ARG_VARIANCE, memory(channel, eng, at(o[5])));
    }
  }
  execute(p, args);
}

/** oneDNN's eltwise algorithm and its alpha for an activation code, or false where we loop ourselves. */
bool onednnActivation(int code, float param, algorithm* alg, float* alpha) {
  *alpha = 0.f;
  switch (code) {
    case A_RELU: *alg = algorithm::eltwise_relu; return true;
    case A_SILU: *alg = algorithm::eltwise_swish; *alpha = 1.f; return true;
    case A_GELU_ERF: *alg = algorithm::eltwise_gelu_erf; return true;
    case A_GELU_TANH: *alg = algorithm::eltwise_gelu_tanh; return true;
    case A_ELU: *alg = algorithm::eltwise_elu; *alpha = 1.f; return true;  // our elu is celu; alpha 1 only
    case A_SOFTPLUS: *alg = algorithm::eltwise_soft_relu; return true;
    case A_MISH: *alg = algorithm::eltwise_mish; return true;
    default: return false;
  }
}

inline float sigmoidf(float z) { return 1.f / (1.f + std::exp(-z)); }
/** log(1 + e^z) without overflow. */
inline float softplusf(float z) { return std::max(z, 0.f) + std::log1p(std::exp(-std::fabs(z))); }

/** Our loops: y = f(x) (dy null), or dx = dy * f'(x). a is the activation's parameter. */
void loopActivation(int code, float a, int64_t n, const float* x, const float* dy, float* out) {
  const bool grad = dy != nullptr;
  switch (code) {
    case A_PSOFTPLUS:  // softplus(a x) / a; derivative sigmoid(a x)
      if (grad) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = dy[i] * sigmoidf(a * x[i]);
      } else {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = softplusf(a * x[i]) / a;
      }
      return;
    case A_SMOOTHRELU:  // x - log1p(a x) / a for x >= 0, else 0; derivative a x / (1 + a x) for x > 0, else 0 (tfjs's step(0) = 0)
      if (grad) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? dy[i] * (a * x[i] / (1.f + a * x[i])) : 0.f;
      } else {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = x[i] >= 0.f ? x[i] - std::log1p(a * x[i]) / a : 0.f;
      }
      return;
    case A_CELU:  // x for x > 0, else a (e^(x/a) - 1); derivative 1, else e^(x/a) (1 at 0, as tfjs's composite)
      if (grad) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? dy[i] : dy[i] * std::exp(x[i] / a);
      } else {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? x[i] : a * std::expm1(x[i] / a);
      }
      return;
    case A_SURROGATE:  // the smooth gradient mode: dy * sigmoid(a x); forward: sigmoid(a x)
      if (grad) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = dy[i] * sigmoidf(a * x[i]);
      } else {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) out[i] = sigmoidf(a * x[i]);
      }
      return;
    default:
      throw std::invalid_argument("unknown activation code " + std::to_string(code));
  }
}

/** y = f(x) when dyOff < 0, else dx = dy * f'(x); n floats each. */
void activation(int code, float param, uint8_t* base, int64_t n, double xOff, double dyOff, double outOff) {
  auto at = [base](double off) { return reinterpret_cast<float*>(base + static_cast<size_t>(off)); };
  const bool grad = dyOff >= 0;
  algorithm alg;
  float alpha;
  if (!onednnActivation(code, param, &alg, &alpha)) return loopActivation(code, param, n, at(xOff), grad ? at(dyOff) : nullptr, at(outOff));
  const memory::desc md({n}, dt::f32, tag::x);
  std::ostringstream k;
  k << "act," << code << ',' << grad << ',' << n;
  Plain& p = plainFor(k.str(), [&](Plain& p) {
    const auto attr = userScratchpad();
    dnnl::eltwise_forward::desc fd(grad ? prop_kind::forward_training : prop_kind::forward_inference, alg, md, alpha, 0.f);
    dnnl::eltwise_forward::primitive_desc fpd(fd, grad ? dnnl::primitive_attr() : attr, engine());
    if (!grad) {
      p.prim = dnnl::eltwise_forward(fpd);
      p.scratchBytes = fpd.scratchpad_desc().get_size();
      return;
    }
    dnnl::eltwise_backward::desc bd(alg, md, md, alpha, 0.f);
    dnnl::eltwise_backward::primitive_desc bpd(bd, attr, engine(), fpd);
    p.prim = dnnl::eltwise_backward(bpd);
    p.scratchBytes = bpd.scratchpad_desc().get_size();
  });
  auto& eng = engine();
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory(md, eng, at(xOff)));
  if (grad) {
    args.emplace(DNNL_ARG_DIFF_DST, memory(md, eng, at(dyOff)));
    args.emplace(DNNL_ARG_DIFF_SRC, memory(md, eng, at(outOff)));
  } else {
    args.emplace(DNNL_ARG_DST, memory(md, eng, at(outOff)));
  }
  execute(p, args);
}

// ---------------------------------------------------------------------------------------------
// Batched matrix multiplication (tfjs's BatchMatMul: the dense layers and their gradients), with
// either operand transposed through its strides, so no transpose is ever materialised.
// dims: B (batch of the output and of a), M, K, N, BB (batch of b: B or 1), transposeA, transposeB.
enum MM { MM_B, MM_M, MM_K, MM_N, MM_BB, MM_TA, MM_TB, MM_COUNT };

void matmul(uint8_t* base, const int32_t* d, double aOff, double bOff, double outOff) {
  const memory::dim b = d[MM_B], m = d[MM_M], k = d[MM_K], n = d[MM_N], bb = d[MM_BB];
  const memory::desc a(memory::dims{b, m, k}, dt::f32, d[MM_TA] ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  const memory::desc w(memory::dims{bb, k, n}, dt::f32, d[MM_TB] ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  const memory::desc out(memory::dims{b, m, n}, dt::f32, memory::dims{m * n, n, 1});
  std::ostringstream key;
  key << "mm";
  for (int i = 0; i < MM_COUNT; i++) key << ',' << d[i];
  Plain& p = plainFor(key.str(), [&](Plain& p) {
    dnnl::matmul::desc desc(a, w, out);
    dnnl::matmul::primitive_desc pd(desc, userScratchpad(), engine());
    p.prim = dnnl::matmul(pd);
    p.scratchBytes = pd.scratchpad_desc().get_size();
  });
  auto at = [base](double off) { return static_cast<void*>(base + static_cast<size_t>(off)); };
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory(a, engine(), at(aOff)));
  args.emplace(DNNL_ARG_WEIGHTS, memory(w, engine(), at(bOff)));
  args.emplace(DNNL_ARG_DST, memory(out, engine(), at(outOff)));
  execute(p, args);
}

// ---------------------------------------------------------------------------------------------
// N-API glue

#define NAPI_OK(call)                                             \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error(env, nullptr, "sat_onednn: " #call " failed"); \
      return nullptr;                                             \
    }                                                             \
  } while (0)

napi_value throwError(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, ("sat_onednn: " + msg).c_str());
  return nullptr;
}

/** Runs `op`, turning oneDNN's and our exceptions into a JS error that names them. */
template <typename Op>
napi_value guarded(napi_env env, Op op) {
  try {
    op();
  } catch (const dnnl::error& e) {
    return throwError(env, std::string("oneDNN: ") + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")");
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
  return nullptr;
}

/** The bytes of an ArrayBuffer, or of the buffer under a typed array (from its start). */
bool bufferOf(napi_env env, napi_value v, uint8_t** data, size_t* length) {
  bool is = false;
  napi_is_arraybuffer(env, v, &is);
  if (is) return napi_get_arraybuffer_info(env, v, reinterpret_cast<void**>(data), length) == napi_ok;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type type;
  size_t count, offset;
  void* start;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &start, &ab, &offset) != napi_ok) return false;
  *data = static_cast<uint8_t*>(start) - offset;
  return napi_get_arraybuffer_info(env, ab, nullptr, length) == napi_ok;
}

bool geometryOf(napi_env env, napi_value v, Geometry* g) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type type;
  size_t count;
  void* data;
  if (napi_get_typedarray_info(env, v, &type, &count, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_int32_array || count != G_COUNT) return false;
  std::memcpy(g->g, data, sizeof(g->g));
  return true;
}

bool fits(double off, size_t bytes, size_t length) { return off >= 0 && off + static_cast<double>(bytes) <= static_cast<double>(length); }

std::string checkGeometry(const Geometry& geo) {
  const int32_t* g = geo.g;
  for (int i = 0; i < G_COUNT; i++) {
    if (i == PT || i == PL || i == PB || i == PR || i == ACT || i == HAS_BIAS) continue;
    if (g[i] <= 0) return "geometry slot " + std::to_string(i) + " must be positive, got " + std::to_string(g[i]);
  }
  if (g[IC] % g[GROUPS] || g[OC] % g[GROUPS]) return "groups must divide both channel counts";
  return "";
}

// conv(op, heap, geometry, a, b, c, d, token, alpha)
napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 9) return throwError(env, "conv expects 9 arguments");
  int32_t op;
  NAPI_OK(napi_get_value_int32(env, argv[0], &op));
  uint8_t* base;
  size_t length;
  if (!bufferOf(env, argv[1], &base, &length)) return throwError(env, "argument 2 must be the wasm memory's ArrayBuffer (or a typed array over it)");
  Geometry g;
  if (!geometryOf(env, argv[2], &g)) return throwError(env, "argument 3 must be an Int32Array of " + std::to_string(G_COUNT) + " geometry values");
  const std::string bad = checkGeometry(g);
  if (!bad.empty()) return throwError(env, bad);
  double off[6];
  for (int i = 0; i < 6; i++) NAPI_OK(napi_get_value_double(env, argv[3 + i], &off[i]));
  const double alpha = off[5];
  // Every tensor must lie inside the heap: a wrong offset would otherwise write anywhere.
  size_t need[3];
  if (op == FWD) need[0] = g.srcBytes(), need[1] = g.weightsBytes(), need[2] = g.dstBytes();
  else if (op == BWD_DATA) need[0] = g.dstBytes(), need[1] = g.weightsBytes(), need[2] = g.srcBytes();
  else need[0] = g.srcBytes(), need[1] = g.dstBytes(), need[2] = g.weightsBytes();
  for (int i = 0; i < 3; i++) {
    if (!fits(off[i], need[i], length)) return throwError(env, "tensor " + std::to_string(i) + " (" + std::to_string(need[i]) + " bytes at " + std::to_string(off[i]) + ") lies outside the " + std::to_string(length) + "-byte heap");
  }
  if (op == FWD && g.g[HAS_BIAS] && !fits(off[3], 4ull * g.g[OC], length)) return throwError(env, "bias lies outside the heap");
  auto at = [base](double o) { return o < 0 ? nullptr : static_cast<void*>(base + static_cast<size_t>(o)); };
  return guarded(env, [&] { run(op, g, at(off[0]), at(off[1]), at(off[2]), at(off[3]), off[4], static_cast<float>(alpha)); });
}

/** Typed-array contents of a given type and length, copied out. */
template <typename T>
bool arrayOf(napi_env env, napi_value v, napi_typedarray_type want, size_t count, T* out) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type type;
  size_t n;
  void* data;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, nullptr, nullptr) != napi_ok || type != want || n != count) return false;
  std::memcpy(out, data, count * sizeof(T));
  return true;
}

// convBn(op, heap, geometry, x, filter, out, stats Float64Array [gamma, beta, mean, variance], epsilon, token)
//   FWD: out = act(BN(conv(x, filter))) (act from the geometry's ACT slot); BWD_DATA: x = dz, out = dx.
napi_value ConvBn(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 9) return throwError(env, "convBn expects 9 arguments");
  int32_t op;
  NAPI_OK(napi_get_value_int32(env, argv[0], &op));
  if (op != FWD && op != BWD_DATA) return throwError(env, "convBn op must be 0 (forward) or 1 (backward data)");
  uint8_t* base;
  size_t length;
  if (!bufferOf(env, argv[1], &base, &length)) return throwError(env, "argument 2 must be the wasm memory's ArrayBuffer");
  Geometry g;
  if (!geometryOf(env, argv[2], &g)) return throwError(env, "argument 3 must be an Int32Array of " + std::to_string(G_COUNT) + " geometry values");
  std::string bad = checkGeometry(g);
  if (bad.empty() && (g.g[GROUPS] != 1 || g.g[HAS_BIAS])) bad = "convBn takes an ungrouped conv without its own bias";
  if (bad.empty() && op == BWD_DATA && g.g[ACT] != LINEAR) bad = "convBn's backward pass takes no activation";
  if (!bad.empty()) return throwError(env, bad);
  double off[3], eps, token;
  for (int i = 0; i < 3; i++) NAPI_OK(napi_get_value_double(env, argv[3 + i], &off[i]));
  double stats[S_COUNT];
  if (!arrayOf(env, argv[6], napi_float64_array, S_COUNT, stats)) return throwError(env, "argument 7 must be a Float64Array of 4 byte offsets (gamma, beta, mean, variance)");
  NAPI_OK(napi_get_value_double(env, argv[7], &eps));
  NAPI_OK(napi_get_value_double(env, argv[8], &token));
  if (!(eps > 0)) return throwError(env, "batch norm epsilon must be positive");
  const size_t need[3] = {op == FWD ? g.srcBytes() : g.dstBytes(), g.weightsBytes(), op == FWD ? g.dstBytes() : g.srcBytes()};
  for (int i = 0; i < 3; i++)
    if (!fits(off[i], need[i], length)) return throwError(env, "convBn tensor " + std::to_string(i) + " (" + std::to_string(need[i]) + " bytes at " + std::to_string(off[i]) + ") lies outside the " + std::to_string(length) + "-byte heap");
  for (int i = 0; i < S_COUNT; i++)
    if (!fits(stats[i], 4ull * g.g[OC], length)) return throwError(env, "convBn statistic " + std::to_string(i) + " lies outside the heap");
  return guarded(env, [&] { convBn(op, base, g, off[0], off[1], off[2], stats, static_cast<float>(eps), token); });
}

// batchNorm(mode, heap, dims Int32Array [N, H, W, C], epsilon, offsets Float64Array(9))
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 5) return throwError(env, "batchNorm expects 5 arguments");
  int32_t mode;
  NAPI_OK(napi_get_value_int32(env, argv[0], &mode));
  if (mode < BN_INFERENCE || mode > BN_BACKWARD) return throwError(env, "batchNorm mode must be 0 (inference), 1 (training) or 2 (backward)");
  uint8_t* base;
  size_t length;
  if (!bufferOf(env, argv[1], &base, &length)) return throwError(env, "argument 2 must be the wasm memory's ArrayBuffer");
  int32_t dims[4];
  if (!arrayOf(env, argv[2], napi_int32_array, 4, dims)) return throwError(env, "argument 3 must be an Int32Array [N, H, W, C]");
  for (int i = 0; i < 4; i++)
    if (dims[i] <= 0) return throwError(env, "batch norm dims must be positive");
  double eps;
  NAPI_OK(napi_get_value_double(env, argv[3], &eps));
  if (!(eps > 0)) return throwError(env, "batch norm epsilon must be positive");
  double o[9];
  if (!arrayOf(env, argv[4], napi_float64_array, 9, o)) return throwError(env, "argument 5 must be a Float64Array of 9 byte offsets");
  // Which offsets hold a full tensor (D) and which one value per channel (c), per mode.
  static const char* kinds[] = {"DccccD", "DccDcc", "DDccccDcc"};
  const size_t data = 4ull * dims[0] * dims[1] * dims[2] * dims[3], channel = 4ull * dims[3];
  for (int i = 0; kinds[mode][i]; i++) {
    const size_t need = kinds[mode][i] == 'D' ? data : channel;
    if (!fits(o[i], need, length)) return throwError(env, "batch norm tensor " + std::to_string(i) + " (" + std::to_string(need) + " bytes at " + std::to_string(o[i]) + ") lies outside the " + std::to_string(length) + "-byte heap");
  }
  return guarded(env, [&] { batchNorm(mode, base, dims, static_cast<float>(eps), o); });
}

// activation(code, param, heap, n, x, dy (-1: forward), out)
napi_value Activation(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 7) return throwError(env, "activation expects 7 arguments");
  int32_t code;
  double param, n, off[3];
  NAPI_OK(napi_get_value_int32(env, argv[0], &code));
  NAPI_OK(napi_get_value_double(env, argv[1], &param));
  if (code < 0 || code >= A_COUNT) return throwError(env, "unknown activation code " + std::to_string(code));
  if (!(param > 0) && (code == A_PSOFTPLUS || code == A_SMOOTHRELU || code == A_CELU || code == A_SURROGATE)) return throwError(env, "activation parameter must be positive");
  uint8_t* base;
  size_t length;
  if (!bufferOf(env, argv[2], &base, &length)) return throwError(env, "argument 3 must be the wasm memory's ArrayBuffer");
  NAPI_OK(napi_get_value_double(env, argv[3], &n));
  if (!(n >= 1) || n != std::floor(n)) return throwError(env, "activation size must be a positive integer");
  for (int i = 0; i < 3; i++) NAPI_OK(napi_get_value_double(env, argv[4 + i], &off[i]));
  const size_t bytes = 4ull * static_cast<size_t>(n);
  for (int i = 0; i < 3; i++) {
    if (i == 1 && off[i] < 0) continue;
    if (!fits(off[i], bytes, length)) return throwError(env, "activation tensor " + std::to_string(i) + " lies outside the heap");
  }
  return guarded(env, [&] { activation(code, static_cast<float>(param), base, static_cast<int64_t>(n), off[0], off[1], off[2]); });
}

// matmul(heap, dims Int32Array [B, M, K, N, BB, transposeA, transposeB], a, b, out)
napi_value MatMul(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 5) return throwError(env, "matmul expects 5 arguments");
  uint8_t* base;
  size_t length;
  if (!bufferOf(env, argv[0], &base, &length)) return throwError(env, "argument 1 must be the wasm memory's ArrayBuffer");
  int32_t d[MM_COUNT];
  if (!arrayOf(env, argv[1], napi_int32_array, MM_COUNT, d)) return throwError(env, "argument 2 must be an Int32Array [B, M, K, N, BB, transposeA, transposeB]");
  for (int i = 0; i < MM_TA; i++)
    if (d[i] <= 0) return throwError(env, "matmul dims must be positive");
  if (d[MM_BB] != d[MM_B] && d[MM_BB] != 1) return throwError(env, "b's batch must be a's or 1");
  double off[3];
  for (int i = 0; i < 3; i++) NAPI_OK(napi_get_value_double(env, argv[2 + i], &off[i]));
  const size_t need[3] = {4ull * d[MM_B] * d[MM_M] * d[MM_K], 4ull * d[MM_BB] * d[MM_K] * d[MM_N], 4ull * d[MM_B] * d[MM_M] * d[MM_N]};
  for (int i = 0; i < 3; i++)
    if (!fits(off[i], need[i], length)) return throwError(env, "matmul tensor " + std::to_string(i) + " lies outside the heap");
  return guarded(env, [&] { matmul(base, d, off[0], off[1], off[2]); });
}

// implementation(op, geometry, alpha): the oneDNN implementation chosen for it, e.g. "brgconv:avx512_core".
napi_value Implementation(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t op;
  double alpha = 0;
  Geometry g;
  NAPI_OK(napi_get_value_int32(env, argv[0], &op));
  if (!geometryOf(env, argv[1], &g)) return throwError(env, "argument 2 must be an Int32Array of geometry values");
  if (argc > 2) napi_get_value_double(env, argv[2], &alpha);
  std::string impl;
  try {
    impl = entryFor(op, g, static_cast<float>(alpha)).impl;
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
  napi_value out;
  NAPI_OK(napi_create_string_utf8(env, impl.c_str(), impl.size(), &out));
  return out;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t n = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return throwError(env, "setThreads needs a positive integer");
  omp_set_num_threads(n);
  return nullptr;
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value out;
  NAPI_OK(napi_create_int32(env, omp_get_max_threads(), &out));
  return out;
}

/** Primitives cached, and bytes of weights and scratchpad they hold (for leak checks). */
napi_value CacheStats(napi_env env, napi_callback_info) {
  size_t bytes = scratch.size;
  for (auto& kv : cache)
    if (kv.second->weights) bytes += kv.second->weightsMd.get_size();
  napi_value out, entries, held;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_create_uint32(env, static_cast<uint32_t>(cache.size() + plainCache.size()), &entries));
  NAPI_OK(napi_create_double(env, static_cast<double>(bytes), &held));
  NAPI_OK(napi_set_named_property(env, out, "entries", entries));
  NAPI_OK(napi_set_named_property(env, out, "bytes", held));
  return out;
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  cache.clear();
  plainCache.clear();
  std::free(scratch.ptr);
  scratch.ptr = nullptr;
  scratch.size = 0;
  return nullptr;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  const std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  NAPI_OK(napi_create_string_utf8(env, s.c_str(), s.size(), &out));
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBn", nullptr, ConvBn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"activation", nullptr, Activation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"implementation", nullptr, Implementation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cacheStats", nullptr, CacheStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCache", nullptr, ClearCache, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  NAPI_OK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
