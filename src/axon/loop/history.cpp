// metrics_history: the metrics history as CSV and JSON Lines, and its plot, rewritten
// atomically as the run goes.
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "axon/loop/handlers.hpp"
#include "axon/loop/serialize.hpp"
#include "nx/error.hpp"
#include "nx/io/json.hpp"

namespace axon::loop {

namespace {

constexpr const char* kWhere = "axon::loop::metrics_history";

// One row: its key columns (epoch, ...) and the metrics.
struct Row {
  std::vector<std::pair<std::string, int64_t>> keys;
  std::map<std::string, double> values;
};

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> columns(const std::vector<Row>& rows) {
  std::set<std::string> names;
  for (const Row& r : rows)
    for (const auto& [k, v] : r.values) names.insert(k);
  // Training metrics first, then their validation counterparts, then the rest (time_s).
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!n.starts_with("validation_") && n != "time_s") out.push_back(n);
  for (const auto& n : names)
    if (n.starts_with("validation_")) out.push_back(n);
  if (names.contains("time_s")) out.push_back("time_s");
  return out;
}

std::string to_csv(const std::vector<Row>& rows) {
  const std::vector<std::string> cols = columns(rows);
  std::string out;
  if (!rows.empty()) {
    for (size_t i = 0; i < rows[0].keys.size(); ++i) out += (i ? "," : "") + rows[0].keys[i].first;
  }
  for (const auto& c : cols) out += "," + csv_cell(c);
  out += "\n";
  for (const Row& r : rows) {
    for (size_t i = 0; i < r.keys.size(); ++i)
      out += (i ? "," : "") + std::to_string(r.keys[i].second);
    for (const auto& c : cols) {
      out += ",";
      if (auto it = r.values.find(c); it != r.values.end()) out += number(it->second);
    }
    out += "\n";
  }
  return out;
}

std::string to_jsonl(const std::vector<Row>& rows) {
  const std::vector<std::string> cols = columns(rows);
  std::string out;
  for (const Row& r : rows) {
    std::string line = "{";
    for (const auto& [k, v] : r.keys)
      line +=
          (line.size() > 1 ? "," : "") + nx::io::detail::json_quote(k) + ":" + std::to_string(v);
    for (const auto& c : cols) {
      auto it = r.values.find(c);
      if (it == r.values.end()) continue;
      line += "," + nx::io::detail::json_quote(c) + ":" +
              (std::isfinite(it->second) ? number(it->second) : std::string("null"));
    }
    out += line + "}\n";
  }
  return out;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  write_file_atomically(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, kWhere);
}

struct Log {
  std::vector<Row> iterations;  // per_iteration rows
};

}  // namespace

Loop metrics_history(const Loop& loop, const HistoryOptions& opts) {
  if (opts.csv.empty() && opts.jsonl.empty() && opts.plot.empty()) {
    throw nx::Error(std::string(kWhere) + ": give at least one of csv, jsonl and plot");
  }
  const std::string ext = opts.plot.extension().string();
  if (!opts.plot.empty() && ext != ".svg" && ext != ".html" && ext != ".htm") {
    throw nx::Error(std::string(kWhere) + ": the plot must be a .svg or .html file, got \"" +
                    opts.plot.string() + "\"");
  }
  const HistoryOptions o = opts;
  auto log = std::make_shared<Log>();
  auto emit = [o, log](State& s) {
    std::vector<Row> rows;
    std::vector<Chart> charts;
    if (o.per_iteration) {
      Row r{
          {{"epoch", s.epoch}, {"iteration", s.iteration}, {"total_iteration", s.total_iteration}},
          s.metrics};
      log->iterations.push_back(std::move(r));
      rows = log->iterations;
      std::map<int64_t, std::map<std::string, double>> series;
      for (const Row& row : rows) series[row.keys[2].second] = row.values;
      charts = history_charts(series, "batch");
    } else {
      for (const auto& [epoch, m] : s.history) {
        Row r{{{"epoch", epoch}}, m};
        if (auto t = s.times.find(epoch); t != s.times.end()) r.values["time_s"] = t->second;
        rows.push_back(std::move(r));
      }
      charts = history_charts(s.history, "epoch");
    }
    if (!o.csv.empty()) write(o.csv, to_csv(rows));
    if (!o.jsonl.empty()) write(o.jsonl, to_jsonl(rows));
    if (!o.plot.empty()) {
      const std::string e = o.plot.extension().string();
      write(o.plot, e == ".svg" ? plot_svg(charts) : plot_html(charts));
    }
    return Control::Continue;
  };
  return loop.handle_event(o.per_iteration ? Event::IterationCompleted : o.event, emit, o.filter);
}

}  // namespace axon::loop
