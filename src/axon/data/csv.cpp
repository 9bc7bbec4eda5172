// Numeric CSV: one row per line, one number per field.
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "axon/data/file_bytes.hpp"
#include "axon/data/readers.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::data {
namespace {

struct Field {
  std::string_view text;
  int64_t column;  // 1-based
};

class CsvParser {
 public:
  CsvParser(const CsvOptions& opts, std::string where) : opts_(opts), where_(std::move(where)) {}

  [[noreturn]] void fail(int64_t line, const std::string& message) const {
    throw nx::Error(where_ + ": line " + std::to_string(line) + ": " + message);
  }
  [[noreturn]] void fail(int64_t line, const Field& f, const std::string& message) const {
    throw nx::Error(where_ + ": line " + std::to_string(line) + ", column " +
                    std::to_string(f.column) + ": " + message + ", got \"" + std::string(f.text) +
                    "\"");
  }

  bool is_space(char c) const { return (c == ' ' || c == '\t') && c != opts_.delimiter; }

  std::string_view trim(std::string_view s) const {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
  }

  void split(std::string_view line, std::vector<Field>& out) const {
    out.clear();
    int64_t column = 1;
    while (true) {
      size_t pos = line.find(opts_.delimiter);
      out.push_back({trim(line.substr(0, pos)), column++});
      if (pos == std::string_view::npos) break;
      line.remove_prefix(pos + 1);
    }
  }

  double parse_float(int64_t line, const Field& f) const {
    std::string_view s = f.text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || end != s.data() + s.size()) fail(line, f, "expected a number");
    if (ec == std::errc::result_out_of_range) {
      // Underflow rounds to zero; overflow is beyond any float dtype.
      if (std::fabs(std::strtod(std::string(s).c_str(), nullptr)) > 1) {
        fail(line, f, "number out of the range of f64");
      }
      v = 0;
    } else if (ec != std::errc()) {
      fail(line, f, "expected a number");
    }
    return v;
  }

  template <class I>
  I parse_int(int64_t line, const Field& f, I lo, I hi) const {
    std::string_view s = f.text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    I v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || end != s.data() + s.size() || ec == std::errc::invalid_argument) {
      fail(line, f, "expected an integer for dtype " + std::string(nx::dtype_name(opts_.dtype)));
    }
    if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
      fail(line, f, "integer out of the range of " + std::string(nx::dtype_name(opts_.dtype)));
    }
    return v;
  }

  const CsvOptions& opts_;
  std::string where_;
};

// The integer range of an integer dtype, as int64 (u64 is handled apart).
std::pair<int64_t, int64_t> int_range(nx::DType t) {
  switch (t) {
    case nx::DType::U8:
      return {0, 255};
    case nx::DType::U16:
      return {0, 65535};
    case nx::DType::U32:
      return {0, 4294967295LL};
    case nx::DType::S8:
      return {-128, 127};
    case nx::DType::S16:
      return {-32768, 32767};
    case nx::DType::S32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default:
      return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

}  // namespace

nx::Tensor parse_csv(std::string_view text, const CsvOptions& opts, std::string_view source) {
  std::string where = "axon::data::read_csv(\"" + std::string(source) + "\")";
  if (!nx::is_numeric(opts.dtype) || opts.dtype == nx::pred) {
    throw nx::Error(where + ": expected a numeric dtype, got " +
                    std::string(nx::dtype_name(opts.dtype)));
  }
  if (opts.delimiter == '\n' || opts.delimiter == '\r' || opts.delimiter == '"') {
    throw nx::Error(where + ": the delimiter cannot be a newline or a double quote");
  }
  CsvParser parser(opts, where);
  const bool is_float = nx::is_float(opts.dtype);
  const bool is_u64 = opts.dtype == nx::u64;
  auto [lo, hi] = int_range(opts.dtype);

  std::vector<double> floats;
  std::vector<int64_t> ints;
  std::vector<uint64_t> u64s;
  std::vector<Field> fields;
  int64_t width = -1;  // fields per row, from the first data row
  int64_t width_line = 0;
  int64_t rows = 0;
  std::vector<int64_t> columns;
  bool header_pending = opts.header;

  int64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (header_pending) {
      header_pending = false;
      continue;
    }
    parser.split(line, fields);
    auto n = static_cast<int64_t>(fields.size());
    if (width < 0) {
      width = n;
      width_line = line_no;
      columns = opts.columns;
      if (columns.empty()) {
        for (int64_t c = 0; c < width; ++c) columns.push_back(c);
      }
      for (int64_t c : columns) {
        if (c < 0 || c >= width) {
          parser.fail(line_no, "column index " + std::to_string(c) +
                                   " in options.columns is "
                                   "outside the " +
                                   std::to_string(width) + " fields of the row");
        }
      }
    } else if (n != width) {
      parser.fail(line_no, "expected " + std::to_string(width) + " fields (as on line " +
                               std::to_string(width_line) + "), got " + std::to_string(n));
    }
    for (int64_t c : columns) {
      const Field& f = fields[static_cast<size_t>(c)];
      if (f.text.empty()) parser.fail(line_no, f, "empty field: expected a number");
      if (is_float) {
        floats.push_back(parser.parse_float(line_no, f));
      } else if (is_u64) {
        u64s.push_back(
            parser.parse_int<uint64_t>(line_no, f, 0, std::numeric_limits<uint64_t>::max()));
      } else {
        ints.push_back(parser.parse_int<int64_t>(line_no, f, lo, hi));
      }
    }
    ++rows;
  }

  nx::Shape shape = {rows, static_cast<int64_t>(width < 0 ? opts.columns.size() : columns.size())};
  if (is_float) {
    nx::Tensor t = nx::from_vector(floats, shape);
    return opts.dtype == nx::f64 ? t : nx::as_type(t, opts.dtype);
  }
  if (is_u64) return nx::from_vector(u64s, shape);
  nx::Tensor t = nx::from_vector(ints, shape);
  return opts.dtype == nx::s64 ? t : nx::as_type(t, opts.dtype);
}

nx::Tensor read_csv(const std::filesystem::path& path, const CsvOptions& opts) {
  std::vector<uint8_t> bytes =
      detail::read_file_maybe_gzipped(path, "axon::data::read_csv(\"" + path.string() + "\")");
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_csv(text, opts, path.string());
}

}  // namespace axon::data
