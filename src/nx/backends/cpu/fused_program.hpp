// The kernel of an "elementwise" Fused node: its program (a closed graph of elementwise,
// broadcast_in_dim, reshape and convert nodes over one domain of N elements, optionally ending
// in reductions) compiled to a short list of loop calls over registers, run tile by tile.
//
// How a program becomes instructions:
// - Every value of the program is one of: a *view* of a leaf (an input or a constant) with
//   per-axis strides, made by broadcast_in_dim/reshape/implicit broadcasting; a *flat* array of
//   N elements (a register, a leaf read in place, or an output buffer); or a *uniform* value, one
//   element standing for every position (a scalar or a broadcast of one).
// - Uniform values are computed once per call (the prologue); flat values per tile; a view used
//   by an operation is read in place when it is contiguous, else gathered into a register.
// - Results that are program outputs are computed straight into the output buffer, so the
//   tile is written once; registers are reused as soon as their value is dead (linear scan), so
//   that the live registers of a tile stay in L1.
// - Tiles split the domain; threads take tiles (parallel.hpp). Reductions over trailing or
//   leading axes reduce each tile's values as they are made: rows within a tile with the eager
//   reduction's lane/pairwise routines, across tiles in fixed-shape pairwise trees, so results
//   do not depend on the thread count.
// - A run's working memory (registers, accumulators, partial results) is laid out once from the
//   program (plan_run) and handed in as scratch: a compiled run allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "../../defn/fused_kernel.hpp"
#include "fused_native.hpp"
#include "fused_ops.hpp"

namespace nx::cpu::fused {

/// Where an instruction's operand or result lives while a tile runs.
struct Ref {
  enum class Kind : uint8_t { None, Reg, Leaf, Out, Uni };
  Kind kind = Kind::None;
  int32_t index = -1;  ///< register (virtual, then physical slot), leaf, output or uniform slot
  bool operator==(const Ref&) const = default;
};

/// One loop call over the elements of a tile (or over one element in the prologue).
struct Instr {
  enum class Op : uint8_t { Unary, Binary, Select, Gather, Fill, Copy };
  Op op = Op::Copy;
  ew::UnaryLoop unary = nullptr;
  ew::BinaryLoop binary = nullptr;
  SelectLoop select = nullptr;
  Prim prim{};               ///< Unary, Binary, Select: the primitive the loop computes
  DType dtype = DType::F32;  ///< ... on operands of this dtype (select: of its two values)
  Ref dst;
  std::array<Ref, 3> src{};
  int32_t gather = -1;  ///< Gather: index of its plan
  int32_t esize = 0;    ///< Gather, Fill, Copy: bytes per element
};

/// A strided read of a leaf over the domain (row-major over `dims`), axes collapsed.
struct GatherPlan {
  int32_t leaf = -1;
  int32_t esize = 0;
  std::vector<int64_t> dims, strides;  ///< strides in elements; 0 for broadcast axes
};

/// Type-erased accumulation routines of one reduction primitive and dtype.
struct ReduceFns {
  size_t acc_size = 0;  ///< bytes of one accumulator; 0 when unsupported
  /// acc[i] = identity, i < n.
  void (*identity)(void* acc, int64_t n) = nullptr;
  /// acc[r] = reduction of row r of `rows` contiguous rows of k elements.
  void (*rows)(const void* x, int64_t rows, int64_t k, void* acc) = nullptr;
  /// acc[j] = reduction over r < rows of x[r * w + j]; scratch holds scratch_elems(rows, w).
  void (*columns)(const void* x, int64_t rows, int64_t w, void* acc, void* scratch) = nullptr;
  /// acc[j] = combine(acc[j], other[j]).
  void (*combine)(void* acc, const void* other, int64_t n) = nullptr;
  /// out[j] = the result dtype's value of acc[j].
  void (*store)(const void* acc, void* out, int64_t n) = nullptr;
};
/// The routines of reduce_sum/prod/max/min on dtype t (acc_size 0 otherwise).
ReduceFns reduce_fns(detail::Prim p, DType t);
/// Accumulators of scratch `columns` needs.
int64_t column_scratch(int64_t rows, int64_t w);

struct Reduction {
  ReduceFns fns;
  Ref src;           ///< the reduced values (virtual register before allocation)
  int32_t out = -1;  ///< output index
  int32_t out_esize = 0;
};

/// Where the domain's reductions go: none, over trailing axes (R rows of K contiguous
/// elements), or over leading axes (K rows of R elements).
enum class ReduceLayout : uint8_t { None, Trailing, Leading };

/// How a reduction over `axes` of a value of shape `in` walks the flat domain; false unless the
/// kept and the reduced axes (size-1 axes aside) form two blocks.
bool reduce_layout(const Shape& in, const Axes& axes, ReduceLayout& layout, int64_t& rows,
                   int64_t& len);
/// Whether a program may end in reduction p over `axes` of a value of type `in`.
bool can_reduce(detail::Prim p, const TensorType& in, const Axes& axes);

/// A compiled program: everything run() needs, fixed at prepare time.
struct Program {
  int64_t n = 0;        ///< domain size
  int64_t tile = 1024;  ///< elements per tile (before reduction alignment)
  int64_t slots = 0;    ///< registers per thread
  int64_t slot_bytes = 0;
  std::vector<Tensor> constants;  ///< leaves past the inputs
  int32_t num_inputs = 0;
  std::vector<int32_t> leaf_esize;
  std::vector<int32_t> out_esize;
  std::vector<int64_t> out_size;  ///< elements of each output
  std::vector<int32_t> uni_leaf;  ///< per uniform slot: the leaf it copies, or -1
  std::vector<int32_t> uni_esize;
  std::vector<Instr> prologue;                    ///< on uniform slots, one element each
  std::vector<std::pair<int32_t, int32_t>> once;  ///< (output, uniform slot) filled per call
  std::vector<Instr> body;                        ///< per tile; results written straight to outputs
  std::vector<Instr> body_safe;  ///< per tile; outputs written last (aliased buffers)
  std::vector<GatherPlan> gathers;
  std::vector<Reduction> reductions;
  std::vector<Ref> red_src;       ///< each reduction's values as `body` leaves them
  std::vector<Ref> safe_red_src;  ///< ... and as `body_safe` leaves them
  ReduceLayout layout = ReduceLayout::None;
  int64_t red_rows = 0, red_len = 0;  ///< Trailing: R rows of K; Leading: K rows of R
  NativeKernel native;                ///< body_safe as machine code, when generated
};

/// Compiles the program of an elementwise Fused node, with its native kernel when it has one
/// and `native` asks for it (fused_native.hpp; a caller that only inspects the program passes
/// false); null when it holds something the tile programs cannot run (the caller then interprets
/// it).
std::unique_ptr<Program> compile_program(const detail::Graph& g, bool native = true);

/// The working memory of one run of a program, planned from it (plan_run): the call's leaf and
/// output pointers, its uniform values, each reduction's partial results, and per parallel
/// chunk its registers and accumulators; with how the work splits.
struct RunLayout {
  enum class Mode : uint8_t { Identities, Plain, Trailing, Leading };
  Mode mode = Mode::Plain;
  int64_t tasks = 0, grain = 1, chunks = 1;
  int64_t h = 1;           ///< Trailing (short rows), Leading: rows per tile
  int64_t row_chunks = 1;  ///< Trailing (long rows): chunks per row
  int64_t nb = 1, w = 0, per = 1, q = 1, depth = 1;  ///< Leading: see run_program
  size_t leaf_offset = 0, out_offset = 0, uni_offset = 0;
  std::vector<size_t> part_offset;  ///< per reduction
  size_t chunk_offset = 0, chunk_bytes = 0;
  /// Within a chunk's part (registers first): accumulators, column scratch, pairwise levels and
  /// their flags.
  size_t acc_offset = 0, col_offset = 0, levels_offset = 0, has_offset = 0, acc_bytes = 0;
  size_t scratch_bytes = 0;
};
RunLayout plan_run(const Program& p);

/// Runs a compiled program: in = the graph's inputs, out = its outputs (pre-allocated);
/// `scratch` holds l.scratch_bytes bytes (64-byte aligned). Allocates nothing.
void run_program(const Program& p, const RunLayout& l, std::span<const Tensor> in,
                 std::span<Tensor> out, void* scratch);
/// plan_run and run_program on the calling thread's scratch.
void run_program(const Program& p, std::span<const Tensor> in, std::span<Tensor> out);

/// A FusedKernel over compile_program/run_program.
class ElementwiseKernel final : public detail::FusedKernel {
 public:
  explicit ElementwiseKernel(std::unique_ptr<Program> p)
      : p_(std::move(p)), layout_(plan_run(*p_)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    run_program(*p_, in, out);
  }
  size_t scratch_bytes() const override { return layout_.scratch_bytes; }
  void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                detail::FusedState*) const override {
    run_program(*p_, layout_, in, out, scratch);
  }
  const Program& program() const { return *p_; }

 private:
  std::unique_ptr<Program> p_;
  RunLayout layout_;
};

}  // namespace nx::cpu::fused
