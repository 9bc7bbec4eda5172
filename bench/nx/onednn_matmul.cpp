// The oneDNN matmul reference. Primitive creation and output allocation happen at setup: timed
// calls are execute + wait only, which is the most any framework on top of oneDNN can reach.
#include "onednn_matmul.hpp"

#include <omp.h>

#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "inputs.hpp"

namespace nx_bench {
namespace {

struct Matmul {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory a, b, c;
  dnnl::matmul primitive;
};

dnnl::memory filled(const dnnl::memory::desc& md, const dnnl::engine& engine, const nx::Tensor& t) {
  dnnl::memory m(md, engine);
  std::memcpy(m.get_data_handle(), t.raw_data(), static_cast<size_t>(t.byte_size()));
  return m;
}

}  // namespace

Reference onednn_matmul_reference(int64_t n, nx::DType dtype) {
  const auto version = dnnl::version();
  std::string system = "oneDNN " + std::to_string(version->major) + "." +
                       std::to_string(version->minor) + "." + std::to_string(version->patch) +
                       " matmul called directly (" + std::to_string(omp_get_max_threads()) +
                       " threads; primitive and output made at setup)";
  Setup setup = [n, dtype]() -> RunOnce {
    using dt = dnnl::memory::data_type;
    const dt type = dtype == nx::bf16 ? dt::bf16 : dt::f32;
    const dnnl::memory::desc md({n, n}, type, dnnl::memory::format_tag::ab);
    auto m = std::make_shared<Matmul>();
    m->a = filled(md, m->engine, nx::as_type(ramp({n, n}, 17, -1.0f, 1.0f), dtype));
    m->b = filled(md, m->engine, nx::as_type(ramp({n, n}, 13, -1.0f, 1.0f), dtype));
    m->c = dnnl::memory(md, m->engine);
    m->primitive =
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(md, md, md), m->engine));
    return [m] {
      m->primitive.execute(m->stream,
                           {{DNNL_ARG_SRC, m->a}, {DNNL_ARG_WEIGHTS, m->b}, {DNNL_ARG_DST, m->c}});
      m->stream.wait();
    };
  };
  return Reference{"onednn", std::move(system), std::move(setup)};
}

}  // namespace nx_bench
