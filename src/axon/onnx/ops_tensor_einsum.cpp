// ONNX tensor family: Einsum. The equation is parsed into integer labels (letters; the axes an
// ellipsis stands for get labels of their own, right-aligned as numpy broadcasts them). Each
// operand first loses its repeated labels (a diagonal: a mask of equal indices, then a sum),
// then the labels that nothing later needs (a sum); operands are then combined left to right
// with nx::dot, shared labels still needed becoming batch axes and the others contracted; a
// final transpose gives the output order.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;
using Labels = std::vector<int>;

constexpr int kEllipsisBase = 1000;

struct Term {
  Labels letters_before, letters_after;  // around the ellipsis
  bool ellipsis = false;
};

Term parse_term(const OpCall& call, const std::string& t) {
  Term term;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '.') {
      if (term.ellipsis || t.compare(i, 3, "...") != 0)
        call.fail("malformed ellipsis in '" + t + "'");
      term.ellipsis = true;
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      (term.ellipsis ? term.letters_after : term.letters_before).push_back(c);
    } else {
      call.fail("unexpected character '" + std::string(1, c) + "' in equation");
    }
  }
  return term;
}

Labels expand(const Term& t, int64_t ell_rank, int64_t max_ell) {
  Labels l = t.letters_before;
  for (int64_t i = max_ell - ell_rank; i < max_ell; ++i)
    l.push_back(kEllipsisBase + static_cast<int>(i));
  l.insert(l.end(), t.letters_after.begin(), t.letters_after.end());
  return l;
}

int64_t index_of(const Labels& l, int v) {
  return std::find(l.begin(), l.end(), v) - l.begin();
}

// Removes repeated labels (diagonals) and sums labels not in `keep`.
Tensor simplify(Tensor x, Labels& l, const std::set<int>& keep) {
  for (size_t p = 0; p < l.size(); ++p) {
    for (size_t q = p + 1; q < l.size();) {
      if (l[q] != l[p]) {
        ++q;
        continue;
      }
      auto pi = static_cast<int64_t>(p), qi = static_cast<int64_t>(q);
      Tensor m = nx::equal(nx::iota(x.shape(), pi, nx::s64), nx::iota(x.shape(), qi, nx::s64));
      x = nx::sum(nx::select(m, x, nx::scalar(0.0, x.dtype())), {.axes = nx::Axes{qi}});
      l.erase(l.begin() + qi);
    }
  }
  nx::Axes drop;
  Labels rest;
  for (size_t i = 0; i < l.size(); ++i) {
    if (keep.count(l[i]))
      rest.push_back(l[i]);
    else
      drop.push_back(static_cast<int64_t>(i));
  }
  if (!drop.empty()) x = nx::sum(x, {.axes = drop});
  l = rest;
  return x;
}

Outs einsum(const OpCall& call) {
  std::string eq;
  for (char c : call.attr_string("equation", ""))
    if (c != ' ') eq += c;
  if (eq.empty()) call.fail("missing attribute equation");
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t s = 0;;) {
    size_t c = lhs.find(',', s);
    terms.push_back(lhs.substr(s, c == std::string::npos ? std::string::npos : c - s));
    if (c == std::string::npos) break;
    s = c + 1;
  }
  std::vector<Tensor> xs;
  for (size_t i = 0; i < call.num_inputs(); ++i) xs.push_back(call.input(i));
  if (terms.size() != xs.size())
    call.fail("equation '" + eq + "' has " + std::to_string(terms.size()) + " operands, the node " +
              std::to_string(xs.size()));
  std::vector<Term> parsed;
  int64_t max_ell = 0;
  std::vector<int64_t> ell(xs.size(), 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    parsed.push_back(parse_term(call, terms[i]));
    auto n = static_cast<int64_t>(parsed[i].letters_before.size() + parsed[i].letters_after.size());
    if (parsed[i].ellipsis ? n > xs[i].rank() : n != xs[i].rank())
      call.fail("operand " + std::to_string(i) + " '" + terms[i] + "' does not match shape " +
                dims_str(xs[i].shape()));
    ell[i] = xs[i].rank() - n;
    max_ell = std::max(max_ell, ell[i]);
  }
  std::vector<Labels> labels;
  std::map<int, int> count;
  std::map<int, int64_t> size;
  for (size_t i = 0; i < xs.size(); ++i) {
    labels.push_back(expand(parsed[i], ell[i], max_ell));
    for (size_t j = 0; j < labels[i].size(); ++j) {
      int l = labels[i][j];
      ++count[l];
      int64_t d = xs[i].shape()[j];
      auto it = size.find(l);
      if (it == size.end() || it->second == 1) {
        size[l] = d;
      } else if (d != 1 && d != it->second) {
        call.fail("label sizes " + std::to_string(it->second) + " and " + std::to_string(d) +
                  " do not match");
      }
    }
  }
  Labels out;
  if (arrow != std::string::npos) {
    Term o = parse_term(call, eq.substr(arrow + 2));
    out = expand(o, o.ellipsis ? max_ell : 0, max_ell);
    std::set<int> seen;
    for (int l : out) {
      if (!size.count(l))
        call.fail("output label '" + std::string(1, static_cast<char>(l)) +
                  "' is not in any input");
      if (!seen.insert(l).second) call.fail("output repeats a label");
    }
  } else {
    for (int64_t i = 0; i < max_ell; ++i) out.push_back(kEllipsisBase + static_cast<int>(i));
    for (auto& [l, c] : count)
      if (l < kEllipsisBase && c == 1) out.push_back(l);
  }
  // Labels needed after operand i: the output's and those of later operands.
  auto needed_after = [&](size_t i) {
    std::set<int> k(out.begin(), out.end());
    for (size_t j = i + 1; j < xs.size(); ++j) k.insert(labels[j].begin(), labels[j].end());
    return k;
  };
  Labels acc_l = labels[0];
  Tensor acc = simplify(xs[0], acc_l, needed_after(0));
  for (size_t i = 1; i < xs.size(); ++i) {
    std::set<int> keep = needed_after(i);
    std::set<int> keep_b = keep;
    keep_b.insert(acc_l.begin(), acc_l.end());
    Labels bl = labels[i];
    Tensor b = simplify(xs[i], bl, keep_b);
    std::set<int> keep_a = keep;
    keep_a.insert(bl.begin(), bl.end());
    acc = simplify(acc, acc_l, keep_a);
    // Broadcast size-1 shared axes.
    nx::Shape as = acc.shape(), bs = b.shape();
    for (size_t j = 0; j < acc_l.size(); ++j) {
      int64_t k = index_of(bl, acc_l[j]);
      if (k == static_cast<int64_t>(bl.size())) continue;
      int64_t n = std::max(as[j], bs[static_cast<size_t>(k)]);
      as[j] = n;
      bs[static_cast<size_t>(k)] = n;
    }
    if (as != acc.shape()) acc = nx::broadcast(acc, as);
    if (bs != b.shape()) b = nx::broadcast(b, bs);
    nx::Axes ca, cb, ba, bb;
    Labels res;
    for (size_t j = 0; j < acc_l.size(); ++j) {
      int64_t k = index_of(bl, acc_l[j]);
      if (k == static_cast<int64_t>(bl.size())) continue;
      if (keep.count(acc_l[j])) {
        ba.push_back(static_cast<int64_t>(j));
        bb.push_back(k);
        res.push_back(acc_l[j]);
      } else {
        ca.push_back(static_cast<int64_t>(j));
        cb.push_back(k);
      }
    }
    for (size_t j = 0; j < acc_l.size(); ++j)
      if (index_of(bl, acc_l[j]) == static_cast<int64_t>(bl.size())) res.push_back(acc_l[j]);
    for (int l : bl)
      if (index_of(acc_l, l) == static_cast<int64_t>(acc_l.size())) res.push_back(l);
    if (acc.dtype() != b.dtype()) {
      nx::DType t = nx::merge(acc.dtype(), b.dtype());
      acc = nx::as_type(acc, t);
      b = nx::as_type(b, t);
    }
    acc = nx::dot(acc, ca, ba, b, cb, bb);
    acc_l = res;
  }
  acc = simplify(acc, acc_l, std::set<int>(out.begin(), out.end()));
  nx::Axes perm;
  nx::Shape final_shape;
  for (int l : out) {
    int64_t k = index_of(acc_l, l);
    perm.push_back(k);
  }
  Tensor y = nx::transpose(acc, perm);
  for (int l : out) final_shape.push_back(size[l]);
  if (y.shape() != final_shape) y = nx::broadcast(y, final_shape);
  if (y.dtype() != xs[0].dtype() && !nx::is_float(y.dtype()) == !nx::is_float(xs[0].dtype()))
    y = nx::as_type(y, xs[0].dtype());
  return {y};
}

}  // namespace

void register_einsum_ops() {
  register_op({"Einsum", einsum, 12});
}

}  // namespace axon::onnx_import::tensor_ops
