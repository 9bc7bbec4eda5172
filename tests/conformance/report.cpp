// The coverage report: an op x dtype matrix of pass/fail counts, the failures, the primitives
// each op reached, and the declared ops without cases. Markdown for people, JSON for tools.
#include <fstream>
#include <map>
#include <sstream>

#include "coverage.hpp"
#include "nx/core/primitive.hpp"

namespace nx::conformance {

namespace {

struct Cell {
  int pass = 0, fail = 0;
  int total() const { return pass + fail; }
};

constexpr int kErrorColumn = kNumDTypes;  // expect_error cases get their own column

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

std::string cell_text(const Cell& c) {
  if (c.total() == 0) return " ";
  std::string s = std::to_string(c.pass) + "/" + std::to_string(c.total());
  if (c.fail) s += " !";
  return s;
}

Json cell_json(const Cell& c) {
  return {{"pass", c.pass}, {"fail", c.fail}};
}

}  // namespace

std::string write_report(const std::vector<Result>& rs, const std::set<std::string>& declared,
                         const std::filesystem::path& dir) {
  std::map<std::string, std::vector<Cell>> matrix;
  std::map<std::string, std::set<std::string>> prims_of_op;
  Cell totals;
  for (const Result& r : rs) {
    auto& row = matrix[r.spec->op];
    row.resize(kNumDTypes + 1);
    Cell& c = row[r.spec->expect_error ? kErrorColumn : static_cast<int>(r.dtype)];
    int Cell::*field = r.status == Status::Pass ? &Cell::pass : &Cell::fail;
    ++(c.*field);
    ++(totals.*field);
    if (r.status == Status::Pass && !r.spec->expect_error) {
      for (int p : r.prims) prims_of_op[r.spec->op].insert(std::string(detail::kPrimInfo[p].name));
    }
  }
  std::vector<std::string> missing_ops;
  for (const std::string& op : declared)
    if (!matrix.count(op)) missing_ops.push_back(op);
  std::vector<std::string> missing_prims = unexercised_primitives(rs);

  std::ostringstream md;
  md << "# nx op conformance report\n\n"
     << totals.total() << " case variants: " << totals.pass << " pass, " << totals.fail << " fail. "
     << matrix.size()
     << " ops.\n\nCells are passed/run; `!` marks failures; the last column counts "
        "cases that must raise nx::Error.\n\n| op |";
  for (int d = 0; d < kNumDTypes; ++d) md << " " << dtype_name(static_cast<DType>(d)) << " |";
  md << " errors |\n|---|";
  for (int d = 0; d <= kNumDTypes; ++d) md << "---|";
  md << "\n";
  for (const auto& [op, row] : matrix) {
    md << "| " << op << " |";
    for (const Cell& c : row) md << " " << cell_text(c) << " |";
    md << "\n";
  }
  md << "\n## Failures\n\n";
  int nfail = 0;
  for (const Result& r : rs) {
    if (r.status == Status::Pass) continue;
    ++nfail;
    md << "- `" << r.spec->name << "` " << dtype_name(r.dtype) << ": " << first_line(r.message)
       << "\n";
  }
  if (nfail == 0) md << "None.\n";
  md << "\n## Primitives reached by each op (passing cases)\n\n";
  for (const auto& [op, prims] : prims_of_op) {
    md << "- " << op << ":";
    for (const auto& p : prims) md << " " << p;
    md << "\n";
  }
  md << "\n## Gaps\n\n"
     << declared.size()
     << " ops declared in include/nx/ops. Without a case: " << (missing_ops.empty() ? "none" : "");
  for (const auto& op : missing_ops) md << op << " ";
  md << "\n\nPrimitives no passing case ran: " << (missing_prims.empty() ? "none" : "");
  for (const auto& p : missing_prims) md << p << " ";
  md << "\n";

  Json j;
  j["summary"] = cell_json(totals);
  for (const auto& [op, row] : matrix) {
    Json cells;
    for (int d = 0; d < kNumDTypes; ++d) {
      if (row[d].total()) cells[std::string(dtype_name(static_cast<DType>(d)))] = cell_json(row[d]);
    }
    if (row[kErrorColumn].total()) cells["errors"] = cell_json(row[kErrorColumn]);
    j["ops"][op] = cells;
  }
  j["failures"] = Json::array();
  for (const Result& r : rs) {
    if (r.status == Status::Pass) continue;
    j["failures"].push_back({{"case", r.spec->name},
                             {"op", r.spec->op},
                             {"dtype", std::string(dtype_name(r.dtype))},
                             {"status", "fail"},
                             {"message", r.message}});
  }
  for (const auto& [op, prims] : prims_of_op) j["primitives_by_op"][op] = prims;
  j["missing_ops"] = missing_ops;
  j["unexercised_primitives"] = missing_prims;

  std::string text = md.str();
  std::ofstream(dir / "conformance_report.md") << text;
  std::ofstream(dir / "conformance_report.json") << j.dump(1) << "\n";
  return text;
}

}  // namespace nx::conformance
