#!/usr/bin/python3
"""Fixtures of the axon::data tests: IDX files written byte by byte from NumPy arrays (plain and
gzipped), malformed IDX files, and CSV files, with the expected arrays in expected.npz.

Run with /usr/bin/python3 (NumPy) from any directory; the output is deterministic.
"""
import gzip
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CODES = {"u8": (0x08, ">u1"), "s8": (0x09, ">i1"), "s16": (0x0B, ">i2"), "s32": (0x0C, ">i4"),
         "f32": (0x0D, ">f4"), "f64": (0x0E, ">f8")}


def idx_bytes(code, big_endian_dtype, a):
    header = struct.pack(">BBBB", 0, 0, code, a.ndim) + b"".join(struct.pack(">I", d) for d in a.shape)
    return header + np.ascontiguousarray(a).astype(big_endian_dtype).tobytes()


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    rng = np.random.default_rng(7)
    expected = {}
    shapes = {"u8": (3, 4, 5), "s8": (7,), "s16": (2, 3), "s32": (4, 2, 2), "f32": (5, 3),
              "f64": (2, 2, 2, 2)}
    for name, (code, bdt) in CODES.items():
        shape = shapes[name]
        if name.startswith("f"):
            a = rng.standard_normal(shape) * 1000
        else:
            info = np.iinfo(np.dtype(bdt).newbyteorder("="))
            a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(info.dtype)
        a = a.astype(np.dtype(bdt).newbyteorder("="))
        expected[name] = a
        raw = idx_bytes(code, bdt, a)
        write(f"{name}.idx", raw)
        write(f"{name}.idx.gz", gzip.compress(raw, mtime=0))

    # A scalar (rank 0) and an empty array.
    expected["scalar"] = np.array(42, dtype=np.int32)
    write("scalar.idx", idx_bytes(0x0C, ">i4", expected["scalar"]))
    expected["empty"] = np.zeros((0, 3), dtype=np.uint8)
    write("empty.idx", idx_bytes(0x08, ">u1", expected["empty"]))

    # Two concatenated gzip members (what `cat a.gz b.gz` makes): one IDX file split in two.
    raw = idx_bytes(0x0C, ">i4", expected["s32"])
    write("s32_two_members.idx.gz", gzip.compress(raw[:20], mtime=0) + gzip.compress(raw[20:], mtime=0))

    # A larger file in two members whose last one is small: the trailer's size hint is far too
    # small, so the reader must grow its buffer. Values (i % 251) are rebuilt by the test.
    big = (np.arange(400 * 500) % 251).astype(np.uint8).reshape(400, 500)
    raw = idx_bytes(0x08, ">u1", big)
    write("u8_big_two_members.idx.gz", gzip.compress(raw[:-10], mtime=0) + gzip.compress(raw[-10:], mtime=0))

    # Malformed files.
    good = idx_bytes(0x08, ">u1", expected["u8"])
    write("bad_magic.idx", b"\x01\x00" + good[2:])
    write("bad_type.idx", good[:2] + b"\x0a" + good[3:])
    write("truncated_data.idx", good[:-1])
    write("truncated_header.idx", good[:9])
    write("oversized.idx", good + b"\x00")
    write("huge_dims.idx", struct.pack(">BBBBIII", 0, 0, 0x0D, 3, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\x00" * 16)
    write("truncated.idx.gz", gzip.compress(good, mtime=0)[:-12])
    gz = bytearray(gzip.compress(good, mtime=0))
    gz[12] ^= 0xFF  # inside the deflate data
    write("corrupt.idx.gz", bytes(gz))
    write("trailing_garbage.idx.gz", gzip.compress(good, mtime=0) + b"junk")
    write("tiny.idx", b"\x00\x00")

    # CSV: a header, ';' as the delimiter, spaces and quotes around fields, CRLF line ends.
    table = np.round(rng.standard_normal((6, 4)) * 100, 3)
    lines = ["a;b;c;d"] + [";".join(f" {v!r} " if j % 2 else f'"{v!r}"' for j, v in enumerate(row)) for row in table]
    text = "\r\n".join(lines) + "\r\n\r\n"
    write("table.csv", text.encode())
    write("table.csv.gz", gzip.compress(text.encode(), mtime=0))
    expected["table"] = table
    ints = rng.integers(-1000, 1000, size=(5, 3))
    write("ints.csv", ("\n".join(",".join(str(v) for v in row) for row in ints)).encode())
    expected["ints"] = ints.astype(np.int64)

    np.savez(os.path.join(HERE, "expected.npz"), **expected)


if __name__ == "__main__":
    main()
