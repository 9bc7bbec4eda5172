#!/usr/bin/python3
"""Writes the seed corpora of the nx::io fuzzers into fuzz/corpus/<target>/.

Run with Debian's numpy:  /usr/bin/python3 fuzz/make_corpus.py

Seeds are small, valid files in each format's main variants, so that the fuzzers start from
inputs that reach deep into the readers.
"""
import io
import json
import os
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def npz_bytes(compressed, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def safetensors_bytes(tensors, metadata=None):
    """tensors: list of (name, dtype name, shape, raw bytes), stored in order."""
    header, data = {}, b''
    if metadata:
        header['__metadata__'] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + data


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as fh:
        fh.write(data)


def main():
    a = np.arange(6, dtype='<f4').reshape(2, 3)
    write('npy_fuzzer', 'f32.npy', npy_bytes(a))
    write('npy_fuzzer', 'f32_fortran.npy', npy_bytes(np.asfortranarray(np.arange(24, dtype='<f4').reshape(2, 3, 4))))
    write('npy_fuzzer', 'i64_be.npy', npy_bytes(np.arange(4, dtype='>i8')))
    write('npy_fuzzer', 'bool.npy', npy_bytes(np.array([True, False, True])))
    write('npy_fuzzer', 'f16_scalar.npy', npy_bytes(np.array(1.5, dtype='<f2')))
    write('npy_fuzzer', 'u8_empty.npy', npy_bytes(np.zeros((0, 3), dtype='|u1')))
    write('npy_fuzzer', 'f64_v2.npy', npy_bytes(np.arange(3, dtype='<f8'), version=(2, 0)))
    write('npy_fuzzer', 'u16_v3.npy', npy_bytes(np.arange(3, dtype='<u2'), version=(3, 0)))
    # Regression input found by npy_fuzzer: an empty array whose other dimensions overflow.
    header = b"{'descr': '<f2', 'fortran_order': True, 'shape': (0, 4294967296, 4294967296), }"
    header += b' ' * (-(len(header) + 11) % 64) + b'\n'
    write('npy_fuzzer', 'regression_empty_overflow.npy',
          b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header)

    arrays = {'w': a, 'b': np.arange(3, dtype='<i2'), 'flag': np.array(True), 'e': np.zeros((0,), '<u4')}
    write('npz_fuzzer', 'stored.npz', npz_bytes(False, **arrays))
    write('npz_fuzzer', 'compressed.npz', npz_bytes(True, **arrays))
    write('npz_fuzzer', 'one_fortran.npz', npz_bytes(True, x=np.asfortranarray(a)))
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 16, 1
    try:
        write('npz_fuzzer', 'zip64.npz', npz_bytes(False, a=a, b=np.arange(2, dtype='<u8')))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved

    f32 = np.arange(6, dtype='<f4').tobytes()
    write('safetensors_fuzzer', 'one.safetensors', safetensors_bytes([('w', 'F32', [2, 3], f32)]))
    write('safetensors_fuzzer', 'meta.safetensors', safetensors_bytes(
        [('dense.kernel', 'BF16', [2], b'\x80\x3f\x00\x40'), ('dense.bias', 'I64', [1], struct.pack('<q', -7)),
         ('flag', 'BOOL', [2], b'\x01\x00'), ('empty', 'U16', [0, 4], b''), ('s', 'F64', [], struct.pack('<d', 2.5))],
        {'format': 'pt', 'note': 'caf\u00e9'}))
    write('safetensors_fuzzer', 'all_dtypes.safetensors', safetensors_bytes(
        [(d, d, [1], b'\x01' * n) for d, n in [('BOOL', 1), ('U8', 1), ('I8', 1), ('I16', 2), ('U16', 2), ('F16', 2),
                                               ('BF16', 2), ('I32', 4), ('U32', 4), ('F32', 4), ('F64', 8),
                                               ('I64', 8), ('U64', 8)]]))
    write('safetensors_fuzzer', 'empty.safetensors', safetensors_bytes([]))


if __name__ == '__main__':
    main()
