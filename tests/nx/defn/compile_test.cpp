// The CPU lowering: compiled graphs give the reference interpreter's results (bit for bit where
// the kernels are the same), plan a smaller arena than one buffer per value, write in place,
// reuse donated buffers, run from many threads at once, and allocate nothing per call beyond
// their outputs.
#include "nx/defn/compile.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "../../../bench/defn/steps.hpp"
#include "nx/defn.hpp"
#include "nx/defn/exec_program.hpp"
#include "nx/defn/interpret.hpp"
#include "nx/defn/passes.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"

// Counts operator new calls on threads that ask for it (allocations per compiled call). Only
// this file replaces the global allocation functions; uncounted threads pay one thread-local
// test per allocation. GCC flags the free() of memory from an operator new it sees inlined,
// which is exactly what a replacement pair does.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local bool t_counting = false;
thread_local int64_t t_allocations = 0;
// oneDNN's own dnnl_primitive_execute (wrapped below) builds a std::unordered_map of the
// arguments it is given on every call, inside libdnnl where no caller can avoid it: allocations
// made while it runs are counted apart.
thread_local int t_in_onednn = 0;
thread_local int64_t t_onednn_allocations = 0;
// While set, allocations on every other thread (the OpenMP workers kernels run on) count too:
// apart while some thread is inside oneDNN's execute (oneDNN's own parallel regions, e.g. its
// forward convolution, allocate on the workers; none of our code runs in them), else as ours.
std::atomic<bool> g_count_workers{false};
std::atomic<int64_t> g_worker_allocations{0};
std::atomic<int> g_in_onednn{0};
std::atomic<int64_t> g_worker_onednn_allocations{0};

void count_allocation() {
  if (t_counting) {
    ++(t_in_onednn > 0 ? t_onednn_allocations : t_allocations);
  } else if (g_count_workers.load(std::memory_order_relaxed) && t_in_onednn == 0) {
    (g_in_onednn.load(std::memory_order_relaxed) > 0 ? g_worker_onednn_allocations
                                                     : g_worker_allocations)
        .fetch_add(1, std::memory_order_relaxed);
  }
}
}  // namespace

void* operator new(size_t n) {
  count_allocation();
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  count_allocation();
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

// The library's calls of oneDNN's execute resolve to this definition (an object file of the
// executable comes before libdnnl.so), which marks the thread as inside oneDNN and calls the
// real one.
extern "C" dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive,
                                                dnnl_stream_t stream, int nargs,
                                                const dnnl_exec_arg_t* args) {
  using Execute =
      dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t*);
  static const auto real = reinterpret_cast<Execute>(dlsym(RTLD_NEXT, "dnnl_primitive_execute"));
  ++t_in_onednn;
  g_in_onednn.fetch_add(1);
  dnnl_status_t status = real(primitive, stream, nargs, args);
  g_in_onednn.fetch_sub(1);
  --t_in_onednn;
  return status;
}

namespace nx::detail {
namespace {

Tensor random_tensor(const Shape& s, DType t = f32, uint32_t seed = 1) {
  return nx::random::uniform(nx::random::key(seed), s, {.min = -2, .max = 2, .dtype = t});
}

void expect_bits(const Tensor& got, const Tensor& want, const std::string& what = "") {
  ASSERT_EQ(got.type(), want.type()) << what;
  EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), static_cast<size_t>(got.byte_size())), 0)
      << what << "\ngot  " << got << "\nwant " << want;
}

std::shared_ptr<const Graph> traced(std::vector<TensorType> types, const TraceFn& f) {
  return trace_function(types, f).graph;
}

// Compiles g and checks every output against the interpreter, bit for bit.
std::unique_ptr<Executable> check_against_interpreter(std::shared_ptr<const Graph> g,
                                                      const std::vector<Tensor>& inputs) {
  auto exe = compile(g, {});
  std::vector<Tensor> want = interpret(*g, inputs);
  for (int rep = 0; rep < 2; ++rep) {  // the second call reuses the instance
    std::vector<Tensor> got = exe->run(inputs);
    EXPECT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      expect_bits(got[i], want[i], "output " + std::to_string(i));
    }
  }
  return exe;
}

// Hand-built graphs.
int32_t add_param(Graph& g, const TensorType& t) {
  int32_t v = g.add_value(t);
  Node n;
  n.kind = NodeKind::Param;
  n.index = static_cast<int32_t>(g.inputs.size());
  n.out = {v};
  g.add_node(std::move(n));
  g.inputs.push_back(v);
  return v;
}

std::vector<int32_t> add_node(Graph& g, Node n, const std::vector<int32_t>& in,
                              const std::vector<TensorType>& out_types) {
  n.in = in;
  for (const TensorType& t : out_types) n.out.push_back(g.add_value(t));
  std::vector<int32_t> out = n.out;
  g.add_node(std::move(n));
  return out;
}

int32_t add_prim(Graph& g, Prim p, const std::vector<int32_t>& in, const TensorType& t,
                 Params params = NoParams{}) {
  Node n;
  n.kind = NodeKind::Prim;
  n.prim = p;
  n.params = std::move(params);
  return add_node(g, std::move(n), in, {t})[0];
}

// ---- Elementwise chains, planning, in place ------------------------------------------------

TEST(DefnCompile, TracedElementwiseMatchesInterpreter) {
  TensorType t{{3, 5}, f32};
  auto g = traced({t, t}, [](std::span<const Tensor> p) {
    Tensor a = nx::exp(p[0]) * p[1];
    Tensor b = nx::tanh(a + 1.5) - nx::sigmoid(p[1]);
    return std::vector<Tensor>{b, nx::sum(b, {.axes = Axes{1}}), nx::greater(a, 0.0)};
  });
  check_against_interpreter(g, {random_tensor({3, 5}, f32, 1), random_tensor({3, 5}, f32, 2)});
}

TEST(DefnCompile, BroadcastAndMixedDtypes) {
  TensorType row{{1, 4}, f64}, col{{3, 1}, f64}, ints{{3, 4}, s32};
  auto g = traced({row, col, ints}, [](std::span<const Tensor> p) {
    Tensor x = p[0] * p[1] + nx::as_type(p[2], f64);
    Tensor y = nx::select(nx::greater(x, 0.0), x, -x);
    return std::vector<Tensor>{nx::as_type(y, f32), nx::bitwise_and(p[2], 7) * 3};
  });
  Tensor ints_v = nx::random::randint(nx::random::key(3), {3, 4}, -50, 50);
  check_against_interpreter(g,
                            {random_tensor({1, 4}, f64, 1), random_tensor({3, 1}, f64, 2), ints_v});
}

TEST(DefnCompile, BroadcastOperandOfOutputByteSizeIsNotOverwritten) {
  // less(s16[3] broadcast, ...) -> pred[2][3]: the s16 operand has the result's 6 bytes but is
  // read at other positions than written, so it must not be overwritten.
  TensorType a{{2, 3}, u8}, b{{3}, s8};
  auto g = traced({a, b}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::less(p[0], p[1]), nx::greater(p[1], p[0])};
  });
  auto exe =
      check_against_interpreter(g, {nx::from_vector<uint8_t>({0, 3, 0, 1, 1, 4}, Shape{2, 3}),
                                    nx::from_vector<int8_t>({2, -2, -1})});
  EXPECT_EQ(exe->info().in_place, 0u) << exe->info().schedule;
}

TEST(DefnCompile, ChainWritesInPlace) {
  TensorType t{{256}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) {
    Tensor x = nx::exp(p[0]);  // the input is never written: the chain starts in the arena
    for (int i = 0; i < 6; ++i) x = nx::sin(x) * 1.5 + 0.25;
    return std::vector<Tensor>{nx::sum(x)};
  });
  auto exe = check_against_interpreter(g, {random_tensor({256})});
  const ExecutableInfo& info = exe->info();
  EXPECT_GE(info.in_place, 18u) << info.schedule;
  EXPECT_LE(info.arena_bytes, 256u * 4u) << info.schedule;  // one buffer for the whole chain
  EXPECT_GT(info.naive_bytes, 10 * info.arena_bytes) << info.schedule;
  EXPECT_NE(info.schedule.find("in place of"), std::string::npos);
}

TEST(DefnCompile, ArenaReusesDeadBuffers) {
  // Transposes cannot run in place; every other one is dead by the time the next is made.
  TensorType t{{32, 32}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) {
    Tensor x = p[0];
    for (int i = 0; i < 8; ++i) x = nx::transpose(nx::reverse(x, Axes{0}));
    return std::vector<Tensor>{nx::sum(x)};
  });
  auto exe = check_against_interpreter(g, {random_tensor({32, 32})});
  const ExecutableInfo& info = exe->info();
  EXPECT_EQ(info.naive_bytes, 16u * 32 * 32 * 4) << info.schedule;
  EXPECT_EQ(info.arena_bytes, 2u * 32 * 32 * 4) << info.schedule;
  EXPECT_EQ(info.num_thunks, 17u);
}

TEST(DefnCompile, OutputsThatAreInputsConstantsOrShared) {
  Tensor c = nx::tensor({1.0f, 2.0f, 3.0f, 4.0f});
  TensorType t{{4}, f32};
  auto g = traced({t, t}, [&](std::span<const Tensor> p) {
    Tensor y = p[0] * c;
    return std::vector<Tensor>{p[1], nx::reshape(p[1], {2, 2}), c, y, nx::reshape(y, {2, 2}),
                               y,    nx::reshape(c, {4, 1})};
  });
  Tensor a = random_tensor({4}), b = random_tensor({4}, f32, 7);
  auto exe = check_against_interpreter(g, {a, b});
  std::vector<Tensor> out = exe->run(std::vector<Tensor>{a, b});
  EXPECT_EQ(out[0].raw_data(), b.raw_data());  // returned without a copy
  EXPECT_EQ(out[1].raw_data(), b.raw_data());  // a view of an input
  EXPECT_EQ(out[2].raw_data(), c.raw_data());
  EXPECT_EQ(out[4].raw_data(), out[3].raw_data());  // one buffer for a value and its view
  EXPECT_EQ(out[5].raw_data(), out[3].raw_data());
  EXPECT_EQ(out[6].raw_data(), c.raw_data());
  // Each call returns fresh buffers for computed outputs.
  std::vector<Tensor> again = exe->run(std::vector<Tensor>{a, b});
  EXPECT_NE(again[3].raw_data(), out[3].raw_data());
  expect_bits(again[3], out[3]);
}

TEST(DefnCompile, MultiOutputPrimitivesAndUnusedOutputs) {
  TensorType t{{4, 6}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) {
    Tensor s = nx::sort(p[0], {.axis = 1});
    Tensor i = nx::argsort(p[0], {.axis = 0, .descending = true});
    return std::vector<Tensor>{s, i};
  });
  check_against_interpreter(g, {random_tensor({4, 6})});
}

TEST(DefnCompile, MovementReductionIndexingAndRandom) {
  TensorType t{{6, 8}, f32}, key{{2}, u32};
  auto g = traced({t, key}, [](std::span<const Tensor> p) {
    Tensor x = nx::pad(p[0], 0.5, {{1, 2, 0}, {0, -1, 1}});
    Tensor w = nx::window_max(x, {2, 2});
    Tensor idx = nx::argmax(p[0], {.axis = 1});
    Tensor taken = nx::take(p[0], idx, 1);
    Tensor r = nx::random::uniform(p[1], {6, 8});
    Tensor cs = nx::cumulative_sum(p[0] + r, {.axis = 0});
    Tensor sl = nx::slice(cs, {1, 2}, {3, 4});
    return std::vector<Tensor>{w, taken, nx::concatenate({sl, sl}, 0), nx::mean(cs)};
  });
  check_against_interpreter(g, {random_tensor({6, 8}), nx::random::key(9)});
}

// ---- Contractions: primitives created at compile time ---------------------------------------

TEST(DefnCompile, DotGeneralPathsMatchEager) {
  struct Case {
    Shape a, b;
    DType dtype;
    bool transpose_b;
  };
  // oneDNN (large f32/bf16), our loops (small, f64, integers), a transposed layout, f16.
  for (const Case& c : {Case{{64, 96}, {96, 80}, f32, false}, Case{{5, 7}, {7, 3}, f32, false},
                        Case{{40, 50}, {50, 60}, f64, false}, Case{{48, 64}, {64, 48}, bf16, true},
                        Case{{48, 64}, {64, 72}, f16, false}, Case{{6, 9}, {9, 4}, s32, false},
                        Case{{4, 40, 50}, {4, 50, 60}, f32, false}}) {
    TensorType ta{c.a, c.dtype}, tb{c.b, c.dtype};
    if (c.transpose_b) tb.shape = {c.b[1], c.b[0]};
    auto g = traced({ta, tb}, [&](std::span<const Tensor> p) {
      Tensor b = c.transpose_b ? nx::transpose(p[1]) : p[1];
      Tensor y = c.a.size() == 3 ? nx::dot(p[0], {2}, {0}, b, {1}, {0}) : nx::dot(p[0], b);
      return std::vector<Tensor>{y};
    });
    Tensor a = is_float(c.dtype)
                   ? random_tensor(ta.shape, c.dtype, 1)
                   : nx::random::randint(nx::random::key(1), ta.shape, -9, 9, c.dtype);
    Tensor b = is_float(c.dtype)
                   ? random_tensor(tb.shape, c.dtype, 2)
                   : nx::random::randint(nx::random::key(2), tb.shape, -9, 9, c.dtype);
    SCOPED_TRACE(type_string(ta) + " x " + type_string(tb));
    auto exe = check_against_interpreter(g, {a, b});
    EXPECT_NE(exe->info().schedule.find("dot_general ["), std::string::npos);
  }
}

TEST(DefnCompile, DotGatherOperandLayout) {
  // Contracting over a middle axis of a: the operand is gathered into the arena first.
  TensorType ta{{8, 30, 40}, f32}, tb{{30, 50}, f32};
  auto g = traced({ta, tb}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::dot(p[0], {1}, p[1], {0})};
  });
  auto exe = check_against_interpreter(g, {random_tensor(ta.shape), random_tensor(tb.shape)});
  EXPECT_NE(exe->info().schedule.find("gather a"), std::string::npos) << exe->info().schedule;
  EXPECT_NE(exe->info().schedule.find("scratch arena"), std::string::npos);
}

TEST(DefnCompile, ConvGeneralPathsMatchEager) {
  for (DType dt : {f32, bf16, f16, f64}) {
    TensorType tx{{2, 8, 14, 14}, dt}, tw{{16, 8, 3, 3}, dt};
    auto g = traced({tx, tw}, [](std::span<const Tensor> p) {
      ConvOptions same, strided;
      same.padding = Padding::same();
      strided.strides = {2, 2};
      strided.input_dilation = {1, 1};
      Tensor y = nx::conv(p[0], p[1], same);
      Tensor z = nx::conv(p[0], p[1], strided);
      return std::vector<Tensor>{nx::max(y, 0.0), z};
    });
    SCOPED_TRACE(std::string(dtype_name(dt)));
    check_against_interpreter(g, {random_tensor(tx.shape, dt, 3), random_tensor(tw.shape, dt, 4)});
  }
}

// ---- Donation, threads, allocations -------------------------------------------------------

TEST(DefnCompile, DonationIsPlannedForTheTrainingStep) {
  TensorType t{{1000}, f32};
  auto g = traced({t, t}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{p[0] - 0.1 * nx::tanh(p[1] * p[0]), p[1] * 2.0};
  });
  auto exe = compile(g, {.name = "step", .donated = {true, false}});
  const std::string& s = exe->info().schedule;
  // The update reads p in the node that writes the new p: that node may write over it.
  EXPECT_NE(s.find("out#0(or donated in#0)"), std::string::npos) << s;
  EXPECT_EQ(s.find("donated in#1"), std::string::npos) << s;  // not donated
  auto plain = compile(g, {});
  EXPECT_EQ(plain->info().schedule.find("donated"), std::string::npos);
}

TEST(DefnCompile, DonatedInputHoldsTheOutput) {
  TensorType t{{1000}, f32};
  auto g = traced({t, t}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{p[0] - 0.1 * nx::tanh(p[1] * p[0])};  // params in, params out
  });
  auto exe = compile(g, {.name = "step", .donated = {true, false}});
  Tensor grad = random_tensor({1000}, f32, 5);
  Tensor params = random_tensor({1000}, f32, 6);
  Tensor want = interpret(*g, std::vector<Tensor>{params, grad})[0];
  // The caller keeps a reference: the input must survive, so the output is fresh.
  {
    std::vector<Tensor> kept = exe->run(std::vector<Tensor>{params, grad});
    EXPECT_NE(kept[0].raw_data(), params.raw_data());
    expect_bits(kept[0], want);
  }
  const void* p = params.raw_data();
  std::vector<Tensor> in{std::move(params), grad};
  std::vector<Tensor> out = exe->run(in);
  in.clear();
  EXPECT_EQ(out[0].raw_data(), p);  // written over the donated buffer
  expect_bits(out[0], want);
  // A training loop: the same buffer carries the parameters from step to step.
  for (int step = 0; step < 3; ++step) {
    want = interpret(*g, std::vector<Tensor>{want, grad})[0];
    std::vector<Tensor> args{std::move(out[0]), grad};
    out = exe->run(args);
    EXPECT_EQ(out[0].raw_data(), p);
    expect_bits(out[0], want);
  }
}

TEST(DefnCompile, DonationWaitsForTheLastRead) {
  // p is read by the final node (not elementwise), so no output may live in its buffer.
  TensorType t{{16, 16}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) {
    Tensor q = p[0] * 2.0;
    return std::vector<Tensor>{q, nx::dot(p[0], q)};
  });
  auto exe = compile(g, {.donated = {true}});
  EXPECT_EQ(exe->info().schedule.find("donated"), std::string::npos) << exe->info().schedule;
  Tensor x = random_tensor({16, 16});
  std::vector<Tensor> want = interpret(*g, std::vector<Tensor>{x});
  std::vector<Tensor> in{std::move(x)};
  std::vector<Tensor> got = exe->run(in);
  expect_bits(got[0], want[0]);
  expect_bits(got[1], want[1]);
}

TEST(DefnCompile, ConcurrentCallsGiveIdenticalResults) {
  TensorType a{{64, 128}, f32}, b{{128, 96}, f32};
  auto g = traced({a, b}, [](std::span<const Tensor> p) {
    Tensor h = nx::max(nx::dot(p[0], p[1]), 0.0);
    Tensor s = nx::softmax(h, Axes{1});
    return std::vector<Tensor>{s, nx::sum(h * h)};
  });
  auto exe = compile(g, {});
  constexpr int kThreads = 8, kCalls = 25;
  std::vector<std::vector<Tensor>> inputs, want;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back({random_tensor(a.shape, f32, 10 + static_cast<uint32_t>(t)),
                      random_tensor(b.shape, f32, 50 + static_cast<uint32_t>(t))});
    want.push_back(exe->run(inputs.back()));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        std::vector<Tensor> got = exe->run(inputs[static_cast<size_t>(t)]);
        for (size_t k = 0; k < got.size(); ++k) {
          const Tensor& w = want[static_cast<size_t>(t)][k];
          if (std::memcmp(got[k].raw_data(), w.raw_data(), static_cast<size_t>(w.byte_size())))
            ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GE(exec::instance_count(*exe), 1u);
  EXPECT_LE(exec::instance_count(*exe), static_cast<size_t>(kThreads));
}

TEST(DefnCompile, SequentialCallsReuseOneInstanceAndAllocateOnlyOutputs) {
  TensorType t{{64}, f32};
  auto g = traced({t, t}, [](std::span<const Tensor> p) {
    Tensor x = p[0];
    for (int i = 0; i < 10; ++i) x = nx::tanh(x * p[1] + 0.5) - x;
    return std::vector<Tensor>{x, nx::exp(p[1]) * x};
  });
  auto exe = compile(g, {});
  std::vector<Tensor> in{random_tensor({64}), random_tensor({64}, f32, 2)};
  (void)exe->run(in);
  int64_t before = t_allocations;
  t_counting = true;
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) (void)exe->run(in);
  t_counting = false;
  int64_t per_call = (t_allocations - before) / kCalls;
  // The result vector, and per output its buffer record, its tensor record and the tensor's
  // shape: nothing for the 23 steps in between.
  EXPECT_EQ(per_call, 1 + 2 * 3);
  EXPECT_EQ(exec::instance_count(*exe), 1u);
}

TEST(DefnCompile, TinyGraphCallOverhead) {
  TensorType t{{4}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) { return std::vector<Tensor>{p[0] + 1.0}; });
  auto exe = compile(g, {});
  std::vector<Tensor> in{random_tensor({4})};
  auto time = [&](auto&& f) {
    for (int i = 0; i < 1000; ++i) f();
    auto start = std::chrono::steady_clock::now();
    constexpr int kN = 20000;
    for (int i = 0; i < kN; ++i) f();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
               .count() /
           kN;
  };
  double compiled = time([&] { (void)exe->run(in); });
  double interpreted = time([&] { (void)interpret(*g, in); });
  RecordProperty("compiled_us", std::to_string(compiled));
  RecordProperty("interpreted_us", std::to_string(interpreted));
  // Reported, not asserted: timings on a shared machine are noise.
  std::printf("[ info ] tiny graph: compiled %.2f us/call, interpreted %.2f us/call\n", compiled,
              interpreted);
}

// ---- Calls allocate only their outputs ------------------------------------------------------

// Allocations per call of f (after a first call): by this thread outside oneDNN's execute, by
// oneDNN's execute (its argument map), and by other threads outside and inside oneDNN's
// execute.
struct Allocations {
  int64_t ours = 0, onednn = 0, workers = 0, onednn_workers = 0;
};

template <class F>
Allocations allocations_per_call(F&& f) {
  f();  // first use of thread-local scratch, oneDNN's lazy state
  f();  // products reorder weights unchanged since the previous run into memory made then
  constexpr int kCalls = 5;
  const int64_t ours = t_allocations, onednn = t_onednn_allocations;
  g_worker_allocations = 0;
  g_worker_onednn_allocations = 0;
  g_count_workers = true;
  t_counting = true;
  for (int i = 0; i < kCalls; ++i) f();
  t_counting = false;
  g_count_workers = false;
  return {(t_allocations - ours) / kCalls, (t_onednn_allocations - onednn) / kCalls,
          g_worker_allocations.load() / kCalls, g_worker_onednn_allocations.load() / kCalls};
}

size_t bytes_of(const TensorType& t) {
  return static_cast<size_t>(num_elements(t.shape) * byte_size(t.dtype));
}

// Runs g's schedule on buffers bound here (exec::Program, as the executable does without the
// result tensors): a run must allocate nothing, on any thread, and give the bits of the
// interpreter (the eager kernels) or, for graphs with fused nodes (whose programs the
// interpreter runs node by node, rounding in between), of the compiled executable. Returns
// the oneDNN-internal allocations per run.
int64_t expect_schedule_allocates_nothing(std::shared_ptr<const Graph> g,
                                          const std::vector<Tensor>& inputs,
                                          const std::string& what) {
  exec::Program prog(g, {});
  // Poisoned, as a reused arena would be: nothing may count on zeroed scratch.
  std::vector<std::byte> arena(prog.arena_bytes() + exec::kAlign, std::byte{0xCD});
  auto* base = reinterpret_cast<std::byte*>(exec::align_up(reinterpret_cast<size_t>(arena.data())));
  std::unique_ptr<exec::Instance> inst = prog.make_instance(base);
  std::vector<const void*> in;
  std::vector<uint64_t> ids;  // as a compiled call passes them (kernels skip weight reorders)
  for (const Tensor& t : inputs) {
    in.push_back(t.raw_data());
    ids.push_back(t.impl()->buffer->id());
  }
  std::vector<std::vector<std::byte>> buffers;
  std::vector<void*> out;
  for (int32_t v : g->outputs) {
    buffers.emplace_back(std::max<size_t>(bytes_of(g->type(v)), 1) + exec::kAlign);
    out.push_back(
        reinterpret_cast<void*>(exec::align_up(reinterpret_cast<size_t>(buffers.back().data()))));
  }
  Allocations a = allocations_per_call([&] {
    prog.run(*inst, in, out, ids);
    prog.copy_outputs(*inst, out);
  });
  EXPECT_EQ(a.ours, 0) << what << ": the calling thread allocated\n" << prog.schedule();
  EXPECT_EQ(a.workers, 0) << what << ": worker threads allocated\n" << prog.schedule();
  bool fused = false;
  for (const Node& n : g->nodes) fused = fused || n.kind == NodeKind::Fused;
  std::vector<Tensor> want = fused ? compile(g, {})->run(inputs) : interpret(*g, inputs);
  for (size_t k = 0; k < want.size(); ++k) {
    Tensor got = from_data(out[k], want[k].shape(), want[k].dtype());
    expect_bits(got, want[k], what + ", output " + std::to_string(k));
  }
  return a.onednn;
}

// A traced graph as jit lowers it: optimized (fused clusters) and as traced (one thunk per
// primitive).
std::vector<std::pair<std::string, std::shared_ptr<const Graph>>> both_forms(
    std::shared_ptr<const Graph> g) {
  return {{"as traced", g}, {"optimized", std::make_shared<const Graph>(optimize(*g))}};
}

TEST(DefnCompile, SchedulesOfEveryKernelFamilyAllocateNothing) {
  // Shapes pick the kernels' paths: general broadcasts, reductions over inner and outer axes
  // (with the reduced range split into chunks), tiled transposes, gathers and scatters, merge
  // and radix sorts, products through oneDNN and our own loops, with gathered operands.
  struct Case {
    std::string name;
    std::vector<Tensor> inputs;
    TraceFn f;
  };
  auto ints = [](const Shape& s, int64_t hi, uint32_t seed) {
    return nx::random::randint(nx::random::key(seed), s, 0, hi);
  };
  std::vector<Case> cases = {
      {"broadcasts",
       {random_tensor({3, 1, 5}), random_tensor({1, 4, 1}, f32, 2), random_tensor({4, 5}, f32, 3)},
       [](std::span<const Tensor> p) {
         Tensor x = p[0] * p[1] - p[2];  // [3, 4, 5] from three broadcast operands
         Tensor y = nx::select(nx::greater(p[1], 0.0), x, p[2]);
         Tensor z = nx::broadcast(p[2], {3, 4, 5}) + nx::broadcast(p[0], {3, 4, 5});
         return std::vector<Tensor>{y, nx::max(x, p[0]), nx::less(p[0], p[2]), z};
       }},
      {"reductions",
       {random_tensor({100000, 3}), random_tensor({2, 40000}, f32, 2),
        random_tensor({8, 16, 12}, f32, 3), random_tensor({64, 300}, f64, 4)},
       [](std::span<const Tensor> p) {
         return std::vector<Tensor>{nx::sum(p[0], {.axes = Axes{0}}),  // rows split in chunks
                                    nx::sum(p[1], {.axes = Axes{1}}),  // long runs in chunks
                                    nx::reduce_max(p[2], {.axes = Axes{0, 2}}),
                                    nx::product(p[3], {.axes = Axes{1}}),
                                    nx::sum(p[3], {.axes = Axes{0}}),
                                    nx::argmax(p[2], {.axis = 1}),
                                    nx::any(nx::greater(p[2], 1.5), {.axes = Axes{1}}),
                                    nx::all(nx::greater(p[1], -1.9), {.axes = Axes{0}})};
       }},
      {"movement",
       {random_tensor({64, 48}), random_tensor({5, 6, 7}, f32, 2), nx::scalar(3, s32)},
       [](std::span<const Tensor> p) {
         Tensor t = nx::transpose(p[0]);                 // tiled transpose
         Tensor u = nx::transpose(p[1], Axes{2, 0, 1});  // strided rows
         Tensor s = nx::slice(p[1], {1, 0, 2}, {3, 6, 4}, {1, 2, 1});
         Tensor r = nx::reverse(p[1], Axes{0, 2});
         Tensor c = nx::concatenate({p[1], r}, 1);
         Tensor pd = nx::pad(p[1], 0.25, {{1, -1, 1}, {0, 0, 0}, {2, 1, 0}});
         Tensor d = nx::dynamic_slice(p[1], {p[2], p[2], p[2]}, {2, 3, 4});
         Tensor up = nx::dynamic_put_slice(p[1], {p[2], p[2], p[2]}, d * 2.0);
         return std::vector<Tensor>{t, u, s, c, pd, up};
       }},
      {"indexing",
       {random_tensor({50, 8}), ints({30}, 50, 5), random_tensor({30, 8}, f32, 6),
        random_tensor({50, 8}, f16, 7), ints({6, 2}, 8, 8)},
       [](std::span<const Tensor> p) {
         Tensor idx = nx::reshape(p[1], {30, 1});
         Tensor taken = nx::take(p[0], p[1], 0);
         Tensor added = nx::indexed_add(p[0], idx, p[2], Axes{0});
         Tensor put = nx::indexed_put(p[0], idx, p[2], Axes{0});
         Tensor half = nx::indexed_add(p[3], idx, nx::as_type(p[2], f16), Axes{0});
         Tensor g = nx::gather(p[0], p[4]);
         return std::vector<Tensor>{taken, added, put, half, g};
       }},
      {"sorts",
       {random_tensor({6, 3000}), random_tensor({40, 300}, f64, 2), ints({9, 20}, 5, 3)},
       [](std::span<const Tensor> p) {
         return std::vector<Tensor>{nx::sort(p[0]),  // radix sort rows
                                    nx::argsort(p[1], {.axis = 1, .descending = true}),  // merge
                                    nx::sort(p[2], {.axis = 0}), nx::argsort(p[2])};
       }},
      {"products",
       {random_tensor({64, 128}), random_tensor({128, 96}, f32, 2),
        random_tensor({4, 48, 40}, f32, 3), random_tensor({40, 4, 36}, f32, 4),
        random_tensor({5, 7}, f64, 5), random_tensor({7, 3}, f64, 6),
        random_tensor({48, 64}, bf16, 7), random_tensor({64, 40}, bf16, 8)},
       [](std::span<const Tensor> p) {
         Tensor mm = nx::dot(p[0], p[1]);                           // oneDNN
         Tensor batched = nx::dot(p[2], {2}, {0}, p[3], {0}, {1});  // b gathered first
         Tensor t = nx::dot(nx::transpose(p[1]), nx::transpose(p[0]));
         return std::vector<Tensor>{mm, batched, t, nx::dot(p[4], p[5]), nx::dot(p[6], p[7])};
       }},
      {"convolutions and poolings",
       {random_tensor({4, 8, 14, 14}), random_tensor({16, 8, 3, 3}, f32, 2),
        random_tensor({4, 16, 14, 14}, f32, 3)},
       [](std::span<const Tensor> p) {
         ConvOptions same;
         same.padding = Padding::same();
         // The convolution and, through nx::grad, its input and kernel gradients (oneDNN's
         // forward, backward-data and backward-weights primitives); max pooling, its gradient
         // (window_scatter_max) and a sum pooling.
         auto loss = [&](const Tensor& x, const Tensor& w) {
           Tensor y = nx::conv(x, w, same);
           Tensor m = nx::window_max(y * p[2], {1, 1, 2, 2}, {.strides = {1, 1, 2, 2}});
           return nx::sum(m * m);
         };
         Tensor dx = nx::grad(p[0], [&](const Tensor& x) { return loss(x, p[1]); });
         Tensor dw = nx::grad(p[1], [&](const Tensor& w) { return loss(p[0], w); });
         Tensor s = nx::window_sum(p[2], {1, 1, 2, 2}, {.strides = {1, 1, 2, 2}});
         return std::vector<Tensor>{dx, dw, s};
       }},
      {"reference convolutions",
       {random_tensor({2, 3, 9, 9}, f64), random_tensor({4, 3, 3, 3}, f64, 2),
        random_tensor({1, 2, 7, 6}), random_tensor({3, 2, 2, 3}, f32, 3),
        random_tensor({8, 16, 20, 20}, f64, 4), random_tensor({16, 16, 3, 3}, f64, 5),
        random_tensor({1, 2, 6, 6}, f16, 6), random_tensor({2, 2, 3, 3}, f16, 7)},
       [](std::span<const Tensor> p) {
         // f64 (the reference path at any size): padded, strided, dilated, and through nx::grad
         // its input and kernel gradients (input dilation, batch groups); a small f32 one
         // under oneDNN's cutoff with input dilation; one large enough that its tasks run in
         // parallel, each on its own im2col buffer; f16 through f32.
         ConvOptions o;
         o.padding = Padding::same();
         o.strides = {2, 1};
         o.kernel_dilation = {1, 2};
         auto loss = [&](const Tensor& x, const Tensor& w) {
           Tensor y = nx::conv(x, w, o);
           return nx::sum(y * y);
         };
         Tensor dx = nx::grad(p[0], [&](const Tensor& x) { return loss(x, p[1]); });
         Tensor dw = nx::grad(p[1], [&](const Tensor& w) { return loss(p[0], w); });
         ConvOptions t;
         t.input_dilation = {2, 1};
         t.padding = Padding::explicit_pairs({{1, 0}, {-1, 2}});
         Tensor small = nx::conv(p[2], p[3], t);
         Tensor big = nx::conv(p[4], p[5]);
         Tensor half = nx::conv(p[6], p[7], o);
         return std::vector<Tensor>{dx, dw, small, big, half};
       }},
      {"window reductions and scatters",
       {random_tensor({2, 3, 10, 11}), random_tensor({3, 12, 9}, f64, 2),
        random_tensor({2, 3, 10, 11}, f16, 3), random_tensor({4, 2, 8, 8}, f32, 4),
        random_tensor({2, 3, 10, 11}, bf16, 5), ints({5, 40}, 9, 6)},
       [](std::span<const Tensor> p) {
         // Windows oneDNN does not take (leading axes windowed, dilation, padding, f64, f16,
         // integers) through our own loops; oneDNN's poolings on values it treats differently
         // (NaN from sqrt of negatives), where the prepared pooling falls back to our loops.
         WindowOptions pd;
         pd.padding = Padding::explicit_pairs({{0, 0}, {1, 0}, {1, 2}, {0, 3}});
         pd.strides = {1, 2, 2, 3};
         pd.window_dilations = {1, 1, 2, 2};
         WindowOptions lead;
         lead.strides = {2, 1, 1};
         lead.padding = Padding::explicit_pairs({{1, 1}, {0, 0}, {2, 0}});
         const Shape w4{1, 2, 3, 2}, w3{3, 1, 2};
         Tensor mn = nx::window_min(p[0], w4, pd);
         Tensor mx = nx::window_max(p[0], w4, pd);
         Tensor sm = nx::window_sum(p[1], w3, lead);
         Tensor pr = nx::window_product(p[1], w3, lead);
         Tensor hmin = nx::window_min(p[2], w4, pd);
         Tensor bmax = nx::window_max(p[4], w4, pd);
         Tensor isum = nx::window_sum(p[5], {2, 5}, {.strides = {1, 2}});
         Tensor smin = nx::window_scatter_min(p[0], mn, nx::scalar(0.5, f32), w4, pd);
         Tensor smax = nx::window_scatter_max(p[0], mx, nx::scalar(0.0, f32), w4, pd);
         Tensor hsc = nx::window_scatter_max(p[2], hmin, nx::scalar(0.0, f16), w4, pd);
         Tensor dsc = nx::window_scatter_min(p[1], pr, nx::scalar(1.0, f64), w3, lead);
         Tensor nan = nx::sqrt(p[3]);
         WindowOptions pool;
         pool.strides = {1, 1, 2, 2};
         Tensor pooled = nx::window_max(nan, {1, 1, 2, 2}, pool);
         Tensor back =
             nx::window_scatter_max(nan, pooled, nx::scalar(0.0, f32), {1, 1, 2, 2}, pool);
         Tensor clean = nx::window_max(p[3], {1, 1, 2, 2}, pool);
         Tensor init =
             nx::window_scatter_max(p[3], clean, nx::scalar(1.0, f32), {1, 1, 2, 2}, pool);
         return std::vector<Tensor>{mn,   mx,   sm,  pr,  hmin,   bmax, isum,
                                    smin, smax, hsc, dsc, pooled, back, init};
       }},
      {"linear algebra, scans, creation",
       {random_tensor({2, 40, 30}), random_tensor({3, 70}, f32, 2)},
       [](std::span<const Tensor> p) {
         auto [q, r] = nx::qr(p[0]);
         Tensor cs = nx::cumulative_sum(p[1], {.axis = 1});
         Tensor io = nx::iota({3, 70}, 1, f32);
         return std::vector<Tensor>{q, r, cs + io};
       }},
      {"control flow",
       {random_tensor({8}), random_tensor({4, 8}, f32, 2)},
       [](std::span<const Tensor> p) {
         Tree state = nx::while_loop(
             Tree::list({Tree(nx::scalar(0, s32)), Tree(p[0])}),
             [](const Tree& s) { return nx::less(s[0].leaf(), 3); },
             [&](const Tree& s) {
               Tensor m = nx::sum(p[1] * s[1].leaf(), {.axes = Axes{0}});  // broadcast, reduce
               return Tree::list({Tree(s[0].leaf() + 1), Tree(nx::sin(m))});
             });
         ScanResult r =
             nx::scan(Tree(nx::zeros({8}, f32)), Tree(p[1]), [](const Tree& c, const Tree& x) {
               Tensor t = c.leaf() + nx::reverse(x.leaf());
               return std::pair<Tree, Tree>{Tree(t), Tree(nx::sort(t))};
             });
         Tree picked = nx::cond(
             nx::greater(nx::sum(p[0]), 0.0), [&] { return Tree(state[1].leaf() * 2.0); },
             [&] { return Tree(nx::sum(nx::transpose(p[1]), {.axes = Axes{1}})); });
         return std::vector<Tensor>{picked.leaf(), r.carry.leaf(), r.ys.leaf()};
       }},
  };
  for (const Case& c : cases) {
    std::vector<TensorType> types;
    for (const Tensor& t : c.inputs) types.push_back(t.type());
    for (const auto& [form, g] : both_forms(traced(types, c.f))) {
      expect_schedule_allocates_nothing(g, c.inputs, c.name + ", " + form);
    }
  }
}

// The training step bench/defn/steps.hpp times, traced as jit traces it: (state leaves, x,
// labels) -> (new state leaves, loss).
template <class Step>
std::pair<std::shared_ptr<const Graph>, std::vector<Tensor>> traced_step(Step step,
                                                                         const nx::Tree& state,
                                                                         const Tensor& x,
                                                                         const Tensor& y) {
  nx::FlatTree flat = nx::tree_flatten(state);
  std::vector<Tensor> inputs = flat.leaves;
  inputs.push_back(x);
  inputs.push_back(y);
  std::vector<TensorType> types;
  for (const Tensor& t : inputs) types.push_back(t.type());
  const size_t n = flat.leaves.size();
  auto g = traced(types, [&](std::span<const Tensor> p) {
    std::vector<Tensor> leaves(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
    nx_bench::steps::StepResult r =
        step(nx::tree_unflatten(flat.structure, leaves), p[n], p[n + 1]);
    std::vector<Tensor> out = nx::tree_leaves(r.first);
    out.push_back(r.second);
    return out;
  });
  return {g, inputs};
}

// A call of the training step `name` compiled from `g` allocates exactly its outputs: the result
// vector, and per output a buffer record, a tensor record and (when it has axes) its shape.
// oneDNN's execute allocates its argument map (6 blocks for a product's 4 arguments) inside
// libdnnl, counted apart.
void expect_step_allocates_only_outputs(std::shared_ptr<const Graph> g,
                                        const std::vector<Tensor>& inputs, const std::string& name,
                                        const std::string& form) {
  const int64_t onednn = expect_schedule_allocates_nothing(g, inputs, name + ", " + form);
  auto exe = compile(g, {});
  int64_t outputs = 1;
  for (int32_t v : g->outputs) outputs += 2 + (g->type(v).shape.empty() ? 0 : 1);
  Allocations a = allocations_per_call([&] { (void)exe->run(inputs); });
  EXPECT_EQ(a.ours, outputs) << form;
  EXPECT_EQ(a.workers, 0) << form;
  EXPECT_EQ(a.onednn, onednn) << form;
  std::printf(
      "[ info ] %s (%s): %lld allocations per call for %zu outputs, "
      "%lld inside oneDNN's execute\n",
      name.c_str(), form.c_str(), static_cast<long long>(a.ours), g->outputs.size(),
      static_cast<long long>(a.onednn));
}

std::pair<std::shared_ptr<const Graph>, std::vector<Tensor>> mlp_step() {
  namespace steps = nx_bench::steps;
  auto [x, y] = steps::mlp_batch(64);
  return traced_step(steps::mlp_adam_step, steps::adam_init(steps::mlp_params()), x, y);
}

TEST(DefnCompile, MlpAdamStepAllocatesOnlyItsOutputs) {
  auto [g, inputs] = mlp_step();  // one thunk per primitive: products, reductions, transposes
  expect_step_allocates_only_outputs(g, inputs, "MLP Adam step", "as traced");
}

TEST(DefnCompile, JitOptimizedMlpAdamStepAllocatesOnlyItsOutputs) {
  // As nx::jit lowers it: elementwise clusters and matmul epilogues (fused nodes).
  auto [g, inputs] = mlp_step();
  expect_step_allocates_only_outputs(std::make_shared<const Graph>(optimize(*g)), inputs,
                                     "MLP Adam step", "optimized");
}

std::pair<std::shared_ptr<const Graph>, std::vector<Tensor>> cnn_step() {
  namespace steps = nx_bench::steps;
  auto [x, y] = steps::cnn_batch(8);
  return traced_step(steps::cnn_adam_step, steps::adam_init(steps::cnn_params()), x, y);
}

TEST(DefnCompile, CnnAdamStepAllocatesOnlyItsOutputs) {
  // Convolutions forward and their kernel and input gradients (oneDNN's forward, backward-
  // weights and backward-data primitives), max pooling and its gradient (window_max,
  // window_scatter_max through oneDNN's pooling), as traced and as nx::jit lowers it.
  auto [g, inputs] = cnn_step();
  for (const auto& [form, graph] : both_forms(g)) {
    expect_step_allocates_only_outputs(graph, inputs, "CNN Adam step", form);
  }
}

// ---- Control flow, hooks, fused nodes -------------------------------------------------------

TEST(DefnCompile, HandBuiltWhile) {
  TensorType i32{{}, s32}, vec{{4}, f32};
  auto cond = traced({i32, vec, vec}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::less(p[0], 5)};
  });
  auto body = traced({i32, vec, vec}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{p[0] + 1, p[1] * 0.5 + p[2]};
  });
  auto g = std::make_shared<Graph>();
  int32_t i = add_param(*g, i32), acc = add_param(*g, vec), step = add_param(*g, vec);
  Node n;
  n.kind = NodeKind::While;
  n.subgraphs = {cond, body};
  n.scan.num_carry = 2;
  std::vector<int32_t> out = add_node(*g, std::move(n), {i, acc, step}, {i32, vec});
  g->outputs = {out[1], out[0]};
  verify(*g);
  Tensor accv = random_tensor({4}), stepv = random_tensor({4}, f32, 3);
  for (int start : {0, 1, 4, 5, 9}) {  // even, odd and zero trip counts
    SCOPED_TRACE(start);
    auto exe = check_against_interpreter(g, {nx::scalar(start, s32), accv, stepv});
    if (start == 0) {
      EXPECT_NE(exe->info().schedule.find("body:"), std::string::npos);
    }
  }
}

TEST(DefnCompile, HandBuiltCond) {
  TensorType vec{{4}, f32}, p{{}, pred};
  auto on_true = traced({vec, vec}, [](std::span<const Tensor> a) {
    return std::vector<Tensor>{a[0] * a[1], a[0]};
  });
  auto on_false = traced({vec, vec}, [](std::span<const Tensor> a) {
    return std::vector<Tensor>{nx::exp(a[0] - a[1]) + 1.0, a[1] + 2.0};
  });
  auto g = std::make_shared<Graph>();
  int32_t pv = add_param(*g, p), a = add_param(*g, vec), b = add_param(*g, vec);
  Node n;
  n.kind = NodeKind::Cond;
  n.subgraphs = {on_true, on_false};
  std::vector<int32_t> out = add_node(*g, std::move(n), {pv, a, b}, {vec, vec});
  g->outputs = {out[0], out[1]};
  verify(*g);
  for (bool which : {true, false}) {
    check_against_interpreter(
        g, {nx::scalar(which ? 1 : 0, pred), random_tensor({4}), random_tensor({4}, f32, 8)});
  }
}

TEST(DefnCompile, HandBuiltScanForwardAndReverse) {
  TensorType carry{{3}, f32}, x{{3}, f32}, scale{{}, f32};
  auto body = traced({carry, x, scale}, [](std::span<const Tensor> p) {
    Tensor next = p[0] + p[1] * p[2];
    return std::vector<Tensor>{next, p[0] * 2.0, nx::sum(next)};
  });
  for (bool reverse : {false, true}) {
    for (int64_t length : {5, 0}) {
      auto g = std::make_shared<Graph>();
      int32_t c = add_param(*g, carry);
      int32_t xs = add_param(*g, TensorType{{length, 3}, f32});
      int32_t s = add_param(*g, scale);
      Node n;
      n.kind = NodeKind::Scan;
      n.subgraphs = {body};
      n.scan = ScanInfo{1, 1, 2, length, reverse};
      std::vector<int32_t> out =
          add_node(*g, std::move(n), {c, xs, s},
                   {carry, TensorType{{length, 3}, f32}, TensorType{{length}, f32}});
      g->outputs = {out[0], out[1], out[2]};
      verify(*g);
      SCOPED_TRACE(std::to_string(length) + (reverse ? " reverse" : ""));
      check_against_interpreter(
          g, {random_tensor({3}), random_tensor({length, 3}, f32, 4), nx::scalar(0.75, f32)});
    }
  }
}

TEST(DefnCompile, TracedControlFlowInsideGraph) {
  TensorType vec{{8}, f32};
  auto g = traced({vec, vec}, [](std::span<const Tensor> p) {
    Tree state = nx::while_loop(
        Tree::list({Tree(nx::scalar(0, s32)), Tree(p[0])}),
        [](const Tree& s) { return nx::less(s[0].leaf(), 3); },
        [&](const Tree& s) {
          return Tree::list({Tree(s[0].leaf() + 1), Tree(nx::sin(s[1].leaf()) + p[1])});
        });
    ScanResult r = nx::scan(Tree(nx::zeros({}, f32)), Tree(nx::reshape(p[1], {4, 2})),
                            [](const Tree& c, const Tree& x) {
                              Tensor s = c.leaf() + nx::sum(x.leaf());
                              return std::pair<Tree, Tree>{Tree(s), Tree(x.leaf() * s)};
                            });
    Tree picked = nx::cond(
        nx::greater(nx::sum(p[0]), 0.0), [&] { return Tree(state[1].leaf() * 2.0); },
        [&] { return Tree(state[1].leaf() - 1.0); });
    return std::vector<Tensor>{picked.leaf(), r.carry.leaf(), r.ys.leaf()};
  });
  check_against_interpreter(g, {random_tensor({8}), random_tensor({8}, f32, 2)});
  check_against_interpreter(g, {-nx::abs(random_tensor({8})), random_tensor({8}, f32, 2)});
}

TEST(DefnCompile, HookRunsOnEveryCallWithItsOwnCopy) {
  TensorType t{{5}, f32};
  std::vector<Tensor> seen;
  auto g = traced({t}, [&](std::span<const Tensor> p) {
    Tensor h = nx::hook(nx::exp(p[0]), "h", [&](const Tensor& v) { seen.push_back(v); });
    return std::vector<Tensor>{nx::cos(h) + 1.0};
  });
  auto exe = compile(g, {});
  Tensor x1 = random_tensor({5}, f32, 1), x2 = random_tensor({5}, f32, 2);
  (void)exe->run(std::vector<Tensor>{x1});
  (void)exe->run(std::vector<Tensor>{x2});
  (void)exe->run(std::vector<Tensor>{x1});
  ASSERT_EQ(seen.size(), 3u);
  expect_bits(seen[0], nx::exp(x1));  // not overwritten by the later calls
  expect_bits(seen[1], nx::exp(x2));
  expect_bits(seen[2], nx::exp(x1));
}

TEST(DefnCompile, HandBuiltFusedNode) {
  TensorType t{{7, 9}, f32};
  auto program = traced({t, t}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::exp(p[0]) * p[1] + 1.0};
  });
  auto g = std::make_shared<Graph>();
  int32_t a = add_param(*g, t), b = add_param(*g, t);
  Node n;
  n.kind = NodeKind::Fused;
  n.name = "elementwise";
  n.subgraphs = {program};
  int32_t y = add_node(*g, std::move(n), {a, b}, {t})[0];
  g->outputs = {add_prim(*g, Prim::negate, {y}, t)};
  verify(*g);
  std::vector<Tensor> in{random_tensor({7, 9}), random_tensor({7, 9}, f32, 2)};
  auto exe = compile(g, {});
  Tensor got = exe->run(in)[0];
  Tensor want = interpret(*g, in)[0];
  ASSERT_EQ(got.type(), want.type());
  std::vector<float> gv = got.to_vector<float>(), wv = want.to_vector<float>();
  for (size_t i = 0; i < gv.size(); ++i) EXPECT_NEAR(gv[i], wv[i], 1e-5f * std::abs(wv[i]));
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.type(), want.type()) << what;
  std::vector<double> gv = got.to_vector<double>(), wv = want.to_vector<double>();
  for (size_t i = 0; i < gv.size(); ++i) {
    EXPECT_NEAR(gv[i], wv[i], 1e-6 * std::max(1.0, std::abs(wv[i]))) << what << " [" << i << "]";
  }
}

std::vector<Tensor> adam(std::span<const Tensor> p) {
  const double b1 = 0.9, b2 = 0.999, lr = 1e-3, eps = 1e-8;
  Tensor m = b1 * p[1] + (1 - b1) * p[3];
  Tensor v = b2 * p[2] + (1 - b2) * p[3] * p[3];
  Tensor w = p[0] - lr * m / (nx::sqrt(v) + eps);
  return {w, m, v};
}

TEST(DefnCompile, FusedAdamStepUpdatesDonatedStateInPlace) {
  TensorType t{{5003}, f32};
  auto g = std::make_shared<const Graph>(fuse(*traced({t, t, t, t}, adam)));
  auto exe = compile(g, {.name = "adam", .donated = {true, true, true, false}});
  const std::string& s = exe->info().schedule;
  EXPECT_NE(s.find("fused elementwise"), std::string::npos) << s;
  for (int k = 0; k < 3; ++k) {
    std::string slot = "out#" + std::to_string(k) + "(or donated in#" + std::to_string(k) + ")";
    EXPECT_NE(s.find(slot), std::string::npos) << slot << "\n" << s;
  }
  std::vector<Tensor> in{random_tensor({5003}), nx::abs(random_tensor({5003}, f32, 2)),
                         nx::abs(random_tensor({5003}, f32, 3)), random_tensor({5003}, f32, 4)};
  std::vector<Tensor> want = interpret(*g, in);
  std::vector<const void*> where;
  for (int k = 0; k < 3; ++k) where.push_back(in[static_cast<size_t>(k)].raw_data());
  std::vector<Tensor> got;
  {
    std::vector<Tensor> copy = in;  // two handles on each input: nothing may be donated
    got = exe->run(copy);
  }
  for (int k = 0; k < 3; ++k) {
    EXPECT_NE(got[k].raw_data(), where[static_cast<size_t>(k)]);
    expect_close(got[k], want[k], "kept " + std::to_string(k));
  }
  got = exe->run(in);  // `in` holds the only handles
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(got[k].raw_data(), where[static_cast<size_t>(k)]);
    expect_close(got[k], want[k], "donated " + std::to_string(k));
  }
}

TEST(DefnCompile, FusedNodeWritesOverADyingTemporary) {
  TensorType t{{64, 48}, f32};
  auto g = std::make_shared<const Graph>(fuse(*traced({t}, [](std::span<const Tensor> p) {
    Tensor x = nx::transpose(p[0]);
    return std::vector<Tensor>{nx::sort(nx::exp(x) * 2.0 + nx::cos(x))};
  })));
  auto exe = compile(g, {});
  EXPECT_GE(exe->info().in_place, 1u) << exe->info().schedule;
  std::vector<Tensor> in{random_tensor({64, 48})};
  expect_close(exe->run(in)[0], interpret(*g, in)[0], "sorted");
}

TEST(DefnCompile, RejectsWrongInputs) {
  TensorType t{{3}, f32};
  auto g = traced({t}, [](std::span<const Tensor> p) { return std::vector<Tensor>{p[0] * 2.0}; });
  auto exe = compile(g, {.name = "double_it", .donated = {}});
  EXPECT_THROW((void)exe->run(std::vector<Tensor>{}), Error);
  try {
    (void)exe->run(std::vector<Tensor>{random_tensor({4})});
    FAIL() << "expected nx::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("double_it"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f32[3]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nx::detail
