#!/usr/bin/python3
"""Reads a safetensors file with json + numpy only and writes its tensors to an .npz.

    read_safetensors.py IN.safetensors OUT.npz

Used by tests/axon/model/model_state_test.cpp to check, with Python's tools, a file written by
axon::ModelState::save: the header is parsed independently of the C++ reader, BF16 and F16
tensors are widened to float32 (numpy has no bfloat16), and the metadata is stored as the npz
member "__metadata__" (its JSON text as uint8). Exits non-zero on any format violation.
"""
import json
import struct
import sys

import numpy as np

NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
         "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    out = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        lo, hi = info["data_offsets"]
        assert lo == end, f"{name}: tensors must be contiguous"
        end = hi
        raw = data[lo:hi]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            a = bits.view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=NUMPY[info["dtype"]])
            if info["dtype"] == "F16":
                a = a.astype(np.float32)
        assert a.size == count, f"{name}: {a.size} elements for shape {info['shape']}"
        out[name] = a.reshape(info["shape"])
    assert end == len(data), "trailing bytes after the last tensor"
    return out, metadata


def main():
    tensors, metadata = read(sys.argv[1])
    tensors["__metadata__"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(sys.argv[2], **tensors)


if __name__ == "__main__":
    main()
