// The ONNX importer's entry points: parsing (with size checks; protobuf reports malformed input
// as a failed parse), opset resolution, and the model's inputs and outputs. The graph's nodes
// become layers in graph_builder.cpp.
#include <climits>
#include <fstream>

#include "axon/onnx.hpp"
#include "axon/onnx/importer.hpp"
#include "nx/error.hpp"

namespace axon::onnx {

namespace {

using onnx_import::ImportContext;

// Every opset up to 17; which ops an old opset may use is each converter's since_opset.
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;

int64_t resolve_opset(const ::onnx::ModelProto& m, const std::string& what) {
  int64_t opset = -1;
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = std::max(opset, o.version());
  }
  if (opset < 0) {
    if (m.opset_import_size() == 0 && m.ir_version() >= 3) {
      throw nx::Error(what + ": the model imports no opset (opset_import is empty)");
    }
    if (m.opset_import_size() == 0)
      opset = 1;  // IR < 3: opset 1 implied
    else
      throw nx::Error(what + ": the model does not import the default ONNX domain");
  }
  if (opset < kMinOpset || opset > kMaxOpset) {
    throw nx::Error(what + ": opset " + std::to_string(opset) +
                    " of the default domain is not supported (supported: " +
                    std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  }
  return opset;
}

}  // namespace

Imported import_bytes(std::span<const uint8_t> bytes, const ImportOptions& opts,
                      const std::filesystem::path& base_dir, const std::string& what) {
  if (bytes.empty()) throw nx::Error(what + ": not an ONNX model (empty)");
  if (static_cast<int64_t>(bytes.size()) > opts.max_bytes || bytes.size() > INT_MAX) {
    throw nx::Error(what + ": " + std::to_string(bytes.size()) +
                    " bytes is more than the importer accepts (" +
                    std::to_string(std::min<int64_t>(opts.max_bytes, INT_MAX)) +
                    "; keep large weights in external data files)");
  }
  auto proto = std::make_shared<::onnx::ModelProto>();
  if (!proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw nx::Error(what +
                    ": not a valid ONNX model (the protobuf data is truncated or "
                    "malformed)");
  }
  if (!proto->has_graph()) throw nx::Error(what + ": the model has no graph");
  auto ctx = std::make_shared<ImportContext>();
  ctx->proto = proto;
  ctx->base_dir = base_dir;
  ctx->what = what;
  ctx->opset = resolve_opset(*proto, what);

  Imported out = onnx_import::build_graph(ctx, opts);
  out.opset = ctx->opset;
  out.producer = proto->producer_name();
  if (!proto->producer_version().empty()) {
    out.producer += (out.producer.empty() ? "" : " ") + proto->producer_version();
  }
  return out;
}

Imported import_file(const std::filesystem::path& path, const ImportOptions& opts) {
  const std::string what = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw nx::Error(what + ": no such file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw nx::Error(what + ": cannot read: " + ec.message());
  if (static_cast<int64_t>(size) > opts.max_bytes || size > INT_MAX) {
    throw nx::Error(what + ": " + std::to_string(size) +
                    " bytes is more than the importer accepts (" +
                    std::to_string(std::min<int64_t>(opts.max_bytes, INT_MAX)) +
                    "; keep large weights in external data files)");
  }
  std::vector<uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw nx::Error(what + ": cannot read the file");
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  return import_bytes(bytes, opts, dir, what);
}

std::vector<std::string> supported_operators() {
  return onnx_import::supported_ops();
}

}  // namespace axon::onnx
