#!/usr/bin/python3
"""Checks the files nx::io wrote (tests/nx/io/npy_test.cpp, npz_test.cpp) with numpy.

Usage: /usr/bin/python3 verify_npy_data.py DIR
       /usr/bin/python3 verify_npy_data.py --zip64 FILE

DIR holds <stem>.npy for every stem in gen_npy_data.DTYPES (2x3, the value_of pattern),
scalar_f8.npy, empty_f4.npy, and nested.npz / nested_compressed.npz. For each .npy the script
checks dtype, shape and values, and that numpy.save writes byte-identical files. With --zip64,
FILE is an .npz in zip64 form (tests/nx/io/zip_test.cpp) holding a = value_of('<f4', 6) as 2x3
and b = value_of('<i8', 5). Exits non-zero with a message on the first mismatch.
"""
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_npy_data import DTYPES, name_of, value_of  # noqa: E402


def same_bytes_as_numpy(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    with open(path, 'rb') as fh:
        return fh.read() == buf.getvalue()


def check(cond, msg):
    if not cond:
        sys.exit('verify_npy_data: ' + msg)


def main(d):
    for descr in DTYPES:
        path = os.path.join(d, name_of(descr) + '.npy')
        a = np.load(path)
        want = value_of(descr, 6).reshape(2, 3)
        check(a.dtype == want.dtype, '%s: dtype %s, want %s' % (path, a.dtype, want.dtype))
        check(a.shape == want.shape, '%s: shape %s' % (path, a.shape))
        check(np.array_equal(a, want), '%s: values %s' % (path, a))
        check(same_bytes_as_numpy(path, a), '%s: bytes differ from numpy.save' % path)
    s = np.load(os.path.join(d, 'scalar_f8.npy'))
    check(s.shape == () and s.dtype == np.float64 and s == -1.25, 'scalar_f8: %r' % s)
    check(same_bytes_as_numpy(os.path.join(d, 'scalar_f8.npy'), s), 'scalar_f8: bytes differ')
    e = np.load(os.path.join(d, 'empty_f4.npy'))
    check(e.shape == (0, 3) and e.dtype == np.float32, 'empty_f4: %r' % e)
    check(same_bytes_as_numpy(os.path.join(d, 'empty_f4.npy'), e), 'empty_f4: bytes differ')
    for name in ['nested.npz', 'nested_compressed.npz']:
        with np.load(os.path.join(d, name)) as z:
            check(list(z.keys()) == ['dense_0.kernel', 'dense_0.bias', 'layers.0', 'layers.1'],
                  '%s: keys %s' % (name, list(z.keys())))
            check(np.array_equal(z['dense_0.kernel'], value_of('<f4', 6).reshape(2, 3)), name + ' kernel')
            check(np.array_equal(z['dense_0.bias'], value_of('<f8', 3)), name + ' bias')
            check(np.array_equal(z['layers.0'], value_of('<i8', 4)), name + ' layers.0')
            check(z['layers.1'].dtype == np.bool_ and z['layers.1'].shape == (), name + ' layers.1')
    print('verify_npy_data: ok')


def check_zip64(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        check(all(i.file_size < 2**32 for i in z.infolist()), 'zip64: sizes')
    with np.load(path) as z:
        check(list(z.keys()) == ['a', 'b'], 'zip64: keys %s' % list(z.keys()))
        check(np.array_equal(z['a'], value_of('<f4', 6).reshape(2, 3)), 'zip64: a')
        check(np.array_equal(z['b'], value_of('<i8', 5)), 'zip64: b')
    print('verify_npy_data: zip64 ok')


if __name__ == '__main__':
    if sys.argv[1] == '--zip64':
        check_zip64(sys.argv[2])
    else:
        main(sys.argv[1])
