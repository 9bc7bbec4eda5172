// The NPY format, shared by the .npy and .npz functions.
//
// An NPY file is the magic "\x93NUMPY", a version (1.0: u16 header length; 2.0 and 3.0: u32),
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces to a multiple of 64 bytes and ended by '\n', then the raw data.
#pragma once

#include <string>
#include <vector>

#include "byte_io.hpp"
#include "nx/tensor.hpp"

namespace nx::io::detail {

/// The complete header (magic through '\n') numpy.save writes for `t`; throws nx::Error naming
/// `where` for bf16, which NumPy has no dtype for.
std::vector<uint8_t> npy_header(const Tensor& t, const std::string& where);

/// Writes header and data of `t`.
void write_npy(Writer& w, const Tensor& t, const std::string& where);

/// Reads one array; the reader must hold exactly the header and the data.
Tensor read_npy(Reader& r, const std::string& where);

/// Checks that `t` is a concrete tensor that can be saved (not a template, not empty).
void check_savable(const Tensor& t, const std::string& where, const std::string& name);

}  // namespace nx::io::detail
