// The reference data that gen_reference.py writes: data/manifest.json and one NPZ per op.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nx::conformance {

/// One array of a variant: its key in the op's NPZ and its nx dtype.
struct ArraySpec {
  std::string key;
  DType dtype;
};

/// One dtype of a case.
struct VariantSpec {
  DType dtype;
  std::vector<ArraySpec> inputs;
  std::vector<ArraySpec> outputs;  ///< empty for expect_error cases
};

/// One row of cases.py.
struct CaseSpec {
  std::string name;
  std::string op;
  std::string file;  ///< NPZ file name in the data directory
  Json attrs;
  bool expect_error = false;
  bool meta_only = false;  ///< compare dtype and shape only
  double tol_scale = 1.0;
  std::vector<VariantSpec> variants;
};

/// |got - want| <= atol + rtol * |want|.
struct Tolerance {
  double rtol = 0.0;
  double atol = 0.0;
};

struct Manifest {
  std::vector<CaseSpec> cases;
  std::map<DType, Tolerance> tolerance;  ///< float dtypes; integers and pred are exact

  /// The tolerance of an output of dtype `d` in case `c`.
  Tolerance tolerance_for(const CaseSpec& c, DType d) const;
};

/// The directory holding manifest.json and the NPZ files.
std::filesystem::path data_dir();
/// The manifest, loaded once.
const Manifest& manifest();
/// An array of a case, as a tensor of the manifest's dtype (bf16 arrive as uint16 bits).
Tensor load_array(const CaseSpec& c, const ArraySpec& a);

}  // namespace nx::conformance
