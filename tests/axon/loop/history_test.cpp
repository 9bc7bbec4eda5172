// metrics_history: CSV and JSON Lines that parse with the right columns, per epoch and per
// batch, an SVG that is well-formed XML with a path per series, and a self-contained HTML page.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "axon/loop/handlers.hpp"
#include "handler_test_helpers.hpp"
#include "nx/io/json.hpp"

namespace {

using axon::loop::State;
using loop_test::ListSource;
using loop_test::TempDir;
using nx::Tree;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// A small XML well-formedness check: balanced, properly nested tags, quoted attributes, no raw
// '<' or '&' outside markup and entities.
::testing::AssertionResult well_formed_xml(const std::string& x) {
  std::vector<std::string> stack;
  size_t i = 0;
  if (x.starts_with("<?xml")) i = x.find("?>") + 2;
  bool root_seen = false;
  while (i < x.size()) {
    if (x[i] == '&') {
      const size_t semi = x.find(';', i);
      const std::string ent = x.substr(i, semi - i + 1);
      if (ent != "&lt;" && ent != "&gt;" && ent != "&amp;" && ent != "&quot;" && ent != "&apos;")
        return ::testing::AssertionFailure() << "bad entity at " << i;
      i = semi + 1;
      continue;
    }
    if (x[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(x[i])))
        return ::testing::AssertionFailure() << "text outside the root at " << i;
      ++i;
      continue;
    }
    const bool closing = x[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    std::string name;
    while (j < x.size() && (std::isalnum(static_cast<unsigned char>(x[j])) || x[j] == '-' ||
                            x[j] == ':' || x[j] == '_'))
      name += x[j++];
    if (name.empty()) return ::testing::AssertionFailure() << "bad tag at " << i;
    // Attributes: name="value" pairs.
    while (j < x.size() && x[j] != '>' && !(x[j] == '/' && x[j + 1] == '>')) {
      if (std::isspace(static_cast<unsigned char>(x[j]))) {
        ++j;
        continue;
      }
      size_t eq = x.find('=', j);
      if (eq == std::string::npos || x[eq + 1] != '"')
        return ::testing::AssertionFailure() << "unquoted attribute at " << j;
      const size_t end = x.find('"', eq + 2);
      if (end == std::string::npos) return ::testing::AssertionFailure() << "open attribute";
      const std::string value = x.substr(eq + 2, end - eq - 2);
      if (value.find('<') != std::string::npos)
        return ::testing::AssertionFailure() << "'<' in an attribute at " << eq;
      j = end + 1;
    }
    if (j >= x.size()) return ::testing::AssertionFailure() << "unterminated tag " << name;
    const bool self_closing = x[j] == '/';
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return ::testing::AssertionFailure() << "mismatched </" << name << "> at " << i;
      stack.pop_back();
    } else if (!self_closing) {
      if (stack.empty() && root_seen) return ::testing::AssertionFailure() << "two roots";
      stack.push_back(name);
      root_seen = true;
    }
    i = j + (self_closing ? 2 : 1);
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  if (!root_seen) return ::testing::AssertionFailure() << "no root element";
  return ::testing::AssertionSuccess();
}

axon::loop::Loop validated_trainer(ListSource& val) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto loop = axon::loop::trainer(model, "mean_squared_error",
                                  axon::optim::adam({.learning_rate = 0.05}), {.log = false})
                  .metric("mean_absolute_error");
  axon::loop::ValidateOptions vo;
  vo.loss = axon::loop::Loss("mean_squared_error");
  return axon::loop::validate(loop, model, val, vo);
}

TEST(LoopHistory, EpochFilesParseAndThePlotIsWellFormed) {
  TempDir dir;
  ListSource train(loop_test::regression_batches(3, 0));
  ListSource val(loop_test::regression_batches(1, 1));
  auto loop = axon::loop::metrics_history(validated_trainer(val),
                                          {.csv = dir.path() / "h.csv",
                                           .jsonl = dir.path() / "h.jsonl",
                                           .plot = dir.path() / "plots" / "curves.svg"});
  loop = axon::loop::metrics_history(loop, {.plot = dir.path() / "curves.html"});
  State s = loop.run(train, {}, {.epochs = 4});

  const auto csv = lines(read(dir.path() / "h.csv"));
  ASSERT_EQ(csv.size(), 5u);
  EXPECT_EQ(csv[0],
            "epoch,loss,mean_absolute_error,validation_loss,validation_mean_absolute_error,time_s");
  for (int e = 0; e < 4; ++e) {
    auto cells = split(csv[e + 1], ',');
    ASSERT_EQ(cells.size(), 6u);
    EXPECT_EQ(cells[0], std::to_string(e));
    EXPECT_NEAR(std::stod(cells[1]), s.history[e]["loss"], 1e-9 * (1 + s.history[e]["loss"]));
    EXPECT_NEAR(std::stod(cells[3]), s.history[e]["validation_loss"],
                1e-9 * (1 + s.history[e]["validation_loss"]));
  }

  const auto jsonl = lines(read(dir.path() / "h.jsonl"));
  ASSERT_EQ(jsonl.size(), 4u);
  for (int e = 0; e < 4; ++e) {
    auto j = nx::io::detail::parse_json(jsonl[e], "jsonl");
    ASSERT_EQ(j.type, nx::io::detail::Json::Type::Object);
    EXPECT_EQ(j.keys,
              (std::vector<std::string>{"epoch", "loss", "mean_absolute_error", "validation_loss",
                                        "validation_mean_absolute_error", "time_s"}));
    EXPECT_EQ(j.items[0].text, std::to_string(e));
  }

  const std::string svg = read(dir.path() / "plots" / "curves.svg");
  EXPECT_TRUE(well_formed_xml(svg));
  EXPECT_EQ(count(svg, "<path class=\"series\""), 4u);  // 2 charts x (train, validation)
  EXPECT_EQ(count(svg, "class=\"chart\""), 2u);
  EXPECT_NE(svg.find("data-name=\"validation_loss\""), std::string::npos);
  EXPECT_NE(svg.find(">epoch</text>"), std::string::npos);

  const std::string html = read(dir.path() / "curves.html");
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(count(html, "http"), 1u);  // only the SVG namespace
  const size_t a = html.find("<svg"), b = html.find("</svg>") + 6;
  EXPECT_TRUE(well_formed_xml(html.substr(a, b - a)));
}

TEST(LoopHistory, PerIterationRows) {
  TempDir dir;
  ListSource train(loop_test::regression_batches(3, 0));
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto loop = axon::loop::metrics_history(
      axon::loop::trainer(model, "mean_squared_error", "adam", {.log = false}),
      {.csv = dir.path() / "it.csv",
       .jsonl = dir.path() / "it.jsonl",
       .plot = dir.path() / "it.svg",
       .per_iteration = true});
  loop.run(train, {}, {.epochs = 2});
  const auto csv = lines(read(dir.path() / "it.csv"));
  ASSERT_EQ(csv.size(), 7u);
  EXPECT_EQ(csv[0], "epoch,iteration,total_iteration,loss");
  EXPECT_EQ(csv[4].substr(0, 6), "1,1,4,");
  EXPECT_EQ(lines(read(dir.path() / "it.jsonl")).size(), 6u);
  const std::string svg = read(dir.path() / "it.svg");
  EXPECT_TRUE(well_formed_xml(svg));
  EXPECT_NE(svg.find(">batch</text>"), std::string::npos);
}

TEST(LoopHistory, PlotsBreakLinesAtNonFiniteValuesAndEscapeNames) {
  axon::loop::Chart c{"a<b", "x", {{"s&t", {{0, 1}, {1, NAN}, {2, 3}, {3, 4}}}, {"empty", {}}}};
  const std::string svg = axon::loop::plot_svg({c});
  EXPECT_TRUE(well_formed_xml(svg));
  const size_t p = svg.find("<path class=\"series\" data-name=\"s&amp;t\"");
  ASSERT_NE(p, std::string::npos);
  const std::string path = svg.substr(p, svg.find("/>", p) - p);
  EXPECT_EQ(count(path, "M"), 2u) << path;  // two pieces
  EXPECT_EQ(count(path, "L"), 1u) << path;
  EXPECT_TRUE(well_formed_xml(axon::loop::plot_svg({})));
  EXPECT_TRUE(well_formed_xml(axon::loop::plot_svg({{"flat", "x", {{"k", {{5, 2}}}}}})));
  auto charts = axon::loop::history_charts({{0, {{"loss", 1}, {"validation_acc", 0.5}}}});
  ASSERT_EQ(charts.size(), 2u);
  EXPECT_EQ(charts[0].title, "acc");
  EXPECT_EQ(charts[0].series[0].name, "validation_acc");
}

TEST(LoopHistory, OptionChecks) {
  EXPECT_THROW(axon::loop::metrics_history(loop_test::counting_loop(), {}), nx::Error);
  EXPECT_THROW(axon::loop::metrics_history(loop_test::counting_loop(), {.plot = "a.png"}),
               nx::Error);
}

}  // namespace
