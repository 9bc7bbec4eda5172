#!/usr/bin/python3
"""Writes the .npy/.npz files that tests/nx/io/npy_test.cpp and npz_test.cpp load.

Run with Debian's numpy:  /usr/bin/python3 tests/nx/io/gen_npy_data.py tests/nx/io/data

Every array's values follow a formula the C++ tests recompute (see value_of below and
expected_values in npy_test.cpp), so the files need no separate list of expected numbers.
"""
import io
import os
import sys

import numpy as np

# descr -> dtype name used in file names
DTYPES = ['|b1', '|u1', '<u2', '<u4', '<u8', '|i1', '<i2', '<i4', '<i8', '<f2', '<f4', '<f8']


def value_of(descr, n):
    """The test pattern for n elements of descr (mirrors expected_values in npy_test.cpp)."""
    i = np.arange(n)
    kind = np.dtype(descr).kind
    if kind == 'b':
        return (i % 3 == 0).astype(descr)
    if kind == 'u':
        return (i * 3 + 1).astype(descr)
    if kind == 'i':
        return (i * 3 - 5).astype(descr)
    return (i * 0.5 - 1.25).astype(descr)


def name_of(descr):
    return {'b': 'bool', 'u': 'u', 'i': 'i', 'f': 'f'}[np.dtype(descr).kind] + (
        '' if np.dtype(descr).kind == 'b' else str(np.dtype(descr).itemsize * 8))


def main(out):
    os.makedirs(out, exist_ok=True)
    for d in DTYPES:
        a = value_of(d, 6).reshape(2, 3)
        np.save(os.path.join(out, name_of(d) + '.npy'), a)
        # Big-endian flavour of the same values (1-byte types have no byte order).
        if np.dtype(d).itemsize > 1:
            np.save(os.path.join(out, name_of(d) + '_be.npy'), a.astype(np.dtype(d).newbyteorder('>')))
        # Fortran order: same logical values as the C-order file, 3-D to exercise the transpose.
        f = np.asfortranarray(value_of(d, 24).reshape(2, 3, 4))
        np.save(os.path.join(out, name_of(d) + '_fortran.npy'), f)
    np.save(os.path.join(out, 'scalar_f8.npy'), np.array(-1.25, dtype='<f8'))
    np.save(os.path.join(out, 'scalar_i4.npy'), np.array(-5, dtype='<i4'))
    np.save(os.path.join(out, 'empty_f4.npy'), np.zeros((0, 3), dtype='<f4'))
    np.save(os.path.join(out, 'empty_i2.npy'), np.zeros((2, 0, 4), dtype='<i2'))
    np.save(os.path.join(out, 'vector_f4.npy'), value_of('<f4', 5))
    np.save(os.path.join(out, 'extremes_i8.npy'), np.array([-2**63, -1, 2**63 - 1], dtype='<i8'))
    np.save(os.path.join(out, 'extremes_u8.npy'), np.array([0, 2**64 - 1], dtype='<u8'))
    np.save(os.path.join(out, 'specials_f2.npy'),
            np.array([np.inf, -np.inf, np.nan, 2.0**-24, 65504.0, -0.0], dtype='<f2'))
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(out, 'version%d_f4.npy' % version[0]), 'wb') as fh:
            np.lib.format.write_array(fh, value_of('<f4', 6).reshape(2, 3), version=version)
    arrays = {name_of(d): value_of(d, 6).reshape(2, 3) for d in DTYPES}
    arrays['scalar'] = np.array(-1.25, dtype='<f8')
    arrays['empty'] = np.zeros((0, 3), dtype='<f4')
    arrays['dense_0.kernel'] = np.asfortranarray(value_of('<f4', 24).reshape(2, 3, 4))
    np.savez(os.path.join(out, 'stored.npz'), **arrays)
    np.savez_compressed(os.path.join(out, 'compressed.npz'), **arrays)
    # A large, compressible member (1.2 MB of i % 1000 * 3 - 5): the inflater sees many
    # windows of input and output.
    np.savez_compressed(os.path.join(out, 'big_compressed.npz'),
                        big=(np.arange(300000) % 1000 * 3 - 5).astype('<i4'))
    # Zip64 structures (zip64 extra fields in the central directory, zip64 end records) normally
    # appear only past 4 GiB or 65535 members; lowering zipfile's limits makes Python write
    # them for a small archive.
    import zipfile
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 16, 1
    try:
        np.savez(os.path.join(out, 'zip64.npz'), a=value_of('<f4', 6).reshape(2, 3), b=value_of('<i8', 5))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'data'))
