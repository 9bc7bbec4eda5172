// plot_svg, plot_html and history_charts: line charts of the metrics, hand-written SVG.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "axon/loop/handlers.hpp"

namespace axon::loop {

namespace {

constexpr double kW = 480, kH = 300;                                // one chart
constexpr double kLeft = 64, kRight = 16, kTop = 34, kBottom = 46;  // its margins
constexpr int kColumns = 2;
const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                               "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(double v, int digits = 6) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// About `target` round ticks covering [lo, hi] (1, 2 or 5 times a power of ten apart).
std::vector<double> nice_ticks(double& lo, double& hi, int target, bool integer) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  if (integer) step = std::max(1.0, std::round(step));
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> ticks;
  for (double t = lo; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

void chart_svg(std::ostringstream& os, const Chart& c, double ox, double oy) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  bool integer_x = true;
  for (const Series& s : c.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
      integer_x = integer_x && x == std::floor(x);
    }
  }
  const bool empty = !(x0 <= x1);
  if (empty) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  const std::vector<double> xt = nice_ticks(x0, x1, 6, integer_x);
  const std::vector<double> yt = nice_ticks(y0, y1, 5, false);
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto px = [&](double x) { return ox + kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return oy + kTop + (1 - (y - y0) / (y1 - y0)) * ph; };

  os << "<g class=\"chart\">\n";
  os << "<rect x=\"" << ox << "\" y=\"" << oy << "\" width=\"" << kW << "\" height=\"" << kH
     << "\" fill=\"white\"/>\n";
  os << "<text x=\"" << ox + kW / 2 << "\" y=\"" << oy + 20
     << "\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" << esc(c.title)
     << "</text>\n";
  // Grid, ticks and tick labels.
  for (double t : yt) {
    os << "<line x1=\"" << px(x0) << "\" y1=\"" << py(t) << "\" x2=\"" << px(x1) << "\" y2=\""
       << py(t) << "\" stroke=\"#e5e5e5\"/>\n";
    os << "<text x=\"" << px(x0) - 6 << "\" y=\"" << py(t) + 4
       << "\" text-anchor=\"end\" font-size=\"11\">" << fmt(t) << "</text>\n";
  }
  for (double t : xt) {
    os << "<line x1=\"" << px(t) << "\" y1=\"" << py(y0) << "\" x2=\"" << px(t) << "\" y2=\""
       << py(y0) + 5 << "\" stroke=\"black\"/>\n";
    os << "<text x=\"" << px(t) << "\" y=\"" << py(y0) + 18
       << "\" text-anchor=\"middle\" font-size=\"11\">" << fmt(t) << "</text>\n";
  }
  // Axes and their labels.
  os << "<line x1=\"" << px(x0) << "\" y1=\"" << py(y0) << "\" x2=\"" << px(x1) << "\" y2=\""
     << py(y0) << "\" stroke=\"black\"/>\n";
  os << "<line x1=\"" << px(x0) << "\" y1=\"" << py(y0) << "\" x2=\"" << px(x0) << "\" y2=\""
     << py(y1) << "\" stroke=\"black\"/>\n";
  os << "<text x=\"" << ox + kLeft + pw / 2 << "\" y=\"" << oy + kH - 8
     << "\" text-anchor=\"middle\" font-size=\"12\">" << esc(c.x_label) << "</text>\n";
  const double ly = oy + kTop + ph / 2;
  os << "<text x=\"" << ox + 14 << "\" y=\"" << ly << "\" text-anchor=\"middle\" font-size=\"12\""
     << " transform=\"rotate(-90 " << ox + 14 << " " << ly << ")\">" << esc(c.title) << "</text>\n";
  std::ostringstream legend;
  size_t longest = 0;
  for (const Series& s : c.series) longest = std::max(longest, s.name.size());
  const double legend_w = std::min(pw, std::max(60.0, 34 + 6.5 * static_cast<double>(longest)));
  const double legend_x = ox + kW - kRight - legend_w - 4;
  // Series: one path each (non-finite values break the line), markers when there are few points.
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    const char* color = kColors[i % std::size(kColors)];
    std::ostringstream d;
    bool pen = false;
    size_t finite = 0;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) {
        pen = false;
        continue;
      }
      d << (pen ? " L" : (d.tellp() > 0 ? " M" : "M")) << fmt(px(x), 7) << "," << fmt(py(y), 7);
      pen = true;
      ++finite;
    }
    os << "<path class=\"series\" data-name=\"" << esc(s.name) << "\" d=\"" << d.str()
       << "\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
    if (finite <= 60) {
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        os << "<circle cx=\"" << fmt(px(x), 7) << "\" cy=\"" << fmt(py(y), 7)
           << "\" r=\"2.5\" fill=\"" << color << "\"/>\n";
      }
    }
    // Legend entry, top right.
    const double lx = legend_x + 6, lyy = oy + kTop + 8 + 16 * static_cast<double>(i);
    legend << "<line x1=\"" << lx << "\" y1=\"" << lyy << "\" x2=\"" << lx + 20 << "\" y2=\"" << lyy
           << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
    legend << "<text x=\"" << lx + 26 << "\" y=\"" << lyy + 4 << "\" font-size=\"11\">"
           << esc(s.name) << "</text>\n";
  }
  // The legend's background, top right, under its entries.
  if (!c.series.empty()) {
    os << "<rect x=\"" << legend_x << "\" y=\"" << oy + kTop - 2 << "\" width=\"" << legend_w
       << "\" height=\"" << 16 * static_cast<double>(c.series.size()) + 4
       << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  }
  os << legend.str();
  if (empty) {
    os << "<text x=\"" << ox + kW / 2 << "\" y=\"" << oy + kH / 2
       << "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#888\">no finite values</text>\n";
  }
  os << "</g>\n";
}

}  // namespace

std::string plot_svg(const std::vector<Chart>& charts) {
  const size_t n = std::max<size_t>(charts.size(), 1);
  const size_t cols = std::min<size_t>(n, kColumns), rows = (n + cols - 1) / cols;
  const double w = kW * static_cast<double>(cols), h = kH * static_cast<double>(rows);
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
     << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (size_t i = 0; i < charts.size(); ++i) {
    chart_svg(os, charts[i], kW * static_cast<double>(i % cols),
              kH * static_cast<double>(i / cols));
  }
  if (charts.empty()) {
    os << "<text x=\"" << kW / 2 << "\" y=\"" << kH / 2
       << "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#888\">no metrics yet</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

std::string plot_html(const std::vector<Chart>& charts, const std::string& title) {
  std::string svg = plot_svg(charts);
  svg.erase(0, svg.find("<svg"));  // no XML declaration inside HTML
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         esc(title) +
         "</title>\n<style>body{font-family:sans-serif;margin:16px;background:#fafafa}</style>\n"
         "</head>\n<body>\n<h1>" +
         esc(title) + "</h1>\n" + svg + "</body>\n</html>\n";
}

std::vector<Chart> history_charts(const std::map<int64_t, std::map<std::string, double>>& history,
                                  const std::string& x_label) {
  std::set<std::string> bases;
  for (const auto& [x, m] : history) {
    for (const auto& [name, v] : m) {
      bases.insert(name.starts_with("validation_") ? name.substr(11) : name);
    }
  }
  std::vector<Chart> out;
  for (const std::string& base : bases) {
    Chart c{base, x_label, {}};
    for (const std::string& name : {base, "validation_" + base}) {
      Series s{name, {}};
      for (const auto& [x, m] : history) {
        if (auto it = m.find(name); it != m.end()) {
          s.points.emplace_back(static_cast<double>(x), it->second);
        }
      }
      if (!s.points.empty()) c.series.push_back(std::move(s));
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace axon::loop
