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
// Post-op activations of FusedConv2D (tfjs names: linear, relu, relu6, elu, leakyrelu, sigmoid).
enum Act { LINEAR = 0, RELU = 1, RELU6 = 2, ELU = 3, LEAKY = 4, SIGMOID = 5 };

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
  std::string key(int op, float alpha) const {
    std::ostringstream k;
    k << op;
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

Entry& entryFor(int op, const Geometry& g, float alpha) {
  const std::string key = g.key(op, alpha);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  auto e = std::make_unique<Entry>();
  e->srcMd = nhwc(g.src());
  e->dstMd = nhwc(g.dst());
  e->userWeightsMd = g.userWeights();
  dnnl::primitive_attr attr = userScratchpad();
  if (op == FWD) {
    dnnl::post_ops ops;
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
 * Runs one conv op. Offsets are bytes into `base`:
 *   FWD:         a = x,  b = filter, c = y,      d = bias (or -1)
 *   BWD_DATA:    a = dy, b = filter, c = dx
 *   BWD_WEIGHTS: a = x,  b = dy,     c = dfilter
 */
void run(int op, uint8_t* base, const Geometry& g, double a, double b, double c, double d, double token, float alpha) {
  Entry& e = entryFor(op, g, alpha);
  auto& eng = engine();
  auto& s = stream();
  auto at = [base](double off) { return static_cast<void*>(base + static_cast<size_t>(off)); };
  std::unordered_map<int, memory> args;
  memory scratchMem(e.scratchBytes ? memory::desc({static_cast<memory::dim>(e.scratchBytes)}, dt::u8, tag::x) : memory::desc(), eng,
                    e.scratchBytes ? scratch.get(e.scratchBytes) : nullptr);
  if (e.scratchBytes) args.emplace(DNNL_ARG_SCRATCHPAD, scratchMem);
  if (op == BWD_WEIGHTS) {
    memory user(e.userWeightsMd, eng, at(c));
    args.emplace(DNNL_ARG_SRC, memory(e.srcMd, eng, at(a)));
    args.emplace(DNNL_ARG_DIFF_DST, memory(e.dstMd, eng, at(b)));
    args.emplace(DNNL_ARG_DIFF_WEIGHTS, e.reorderWeights ? *e.weights : user);
    e.prim.execute(s, args);
    if (e.reorderWeights) e.reorder.execute(s, {{DNNL_ARG_FROM, *e.weights}, {DNNL_ARG_TO, user}});
    s.wait();
    return;
  }
  memory user(e.userWeightsMd, eng, at(b));
  if (e.reorderWeights && (token < 0 || token != e.token)) {
    e.token = -1;  // stays invalid if the reorder throws
    e.reorder.execute(s, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, *e.weights}});
    e.token = token;
  }
  args.emplace(DNNL_ARG_WEIGHTS, e.reorderWeights ? *e.weights : user);
  if (op == FWD) {
    args.emplace(DNNL_ARG_SRC, memory(e.srcMd, eng, at(a)));
    args.emplace(DNNL_ARG_DST, memory(e.dstMd, eng, at(c)));
    if (g.g[HAS_BIAS]) args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.g[OC]}, dt::f32, tag::x), eng, at(d)));
  } else {
    args.emplace(DNNL_ARG_DIFF_DST, memory(e.dstMd, eng, at(a)));
    args.emplace(DNNL_ARG_DIFF_SRC, memory(e.srcMd, eng, at(c)));
  }
  e.prim.execute(s, args);
  s.wait();
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
  try {
    run(op, base, g, off[0], off[1], off[2], off[3], off[4], static_cast<float>(alpha));
  } catch (const dnnl::error& e) {
    return throwError(env, std::string("oneDNN: ") + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")");
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
  return nullptr;
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
  NAPI_OK(napi_create_uint32(env, static_cast<uint32_t>(cache.size()), &entries));
  NAPI_OK(napi_create_double(env, static_cast<double>(bytes), &held));
  NAPI_OK(napi_set_named_property(env, out, "entries", entries));
  NAPI_OK(napi_set_named_property(env, out, "bytes", held));
  return out;
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  cache.clear();
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
