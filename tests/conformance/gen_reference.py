#!/usr/bin/python3
"""Writes the conformance reference data: data/<op>.npz and data/manifest.json.

Run with Debian's Python, which has NumPy and PyTorch:

    /usr/bin/python3 tests/conformance/gen_reference.py          # regenerate
    /usr/bin/python3 tests/conformance/gen_reference.py --check  # verify the committed data

Each case of cases.py is expanded over its dtypes. Inputs are drawn from a seed derived from the
case name and dtype, so the output is byte-identical on every run (the NPZ members carry a fixed
timestamp and deflate's output is a function of its input). One NPZ per op holds the arrays of
all its cases, under the keys "<key>.<dtype>.i<n>" (inputs) and "<key>.<dtype>.o<n>" (outputs),
where <key> ("c0", "c1", ...) numbers the cases of the op and is recorded in the manifest. bf16
arrays are stored as their uint16 bit patterns and pred arrays as NumPy bool; the manifest lists
every array's nx dtype, which is what the C++ harness trusts.

Manifest: {"format", "tolerance": {dtype: [rtol, atol]}, "cases": [{"name", "op", "file", "key",
"attrs", "variants": [{"dtype", "in": [dtype...], "out": [dtype...]}], and, when not the default,
"expect_error": true, "meta_only": true, "tol_scale": x}]}.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases as case_table  # noqa: E402
from refcore import TOLERANCE, Ctx, T, bf16_bits, cast, draw, expand_dtypes, seed_for  # noqa: E402

FORMAT = 1
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def file_stem(op: str) -> str:
    """A file name for an op: operators and primitive-level ops get spelled-out names."""
    names = {"operator+": "operator_add", "operator-": "operator_sub",
             "operator*": "operator_mul", "operator/": "operator_div"}
    if op in names:
        return names[op]
    return op.replace(":", "_")


def storage(arr: np.ndarray, dt: str) -> np.ndarray:
    if dt == "bf16":
        return bf16_bits(arr)
    return np.array(cast(arr, dt), order="C")


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


def write_npz(path: str, arrays: dict) -> None:
    """A deflated NPZ with fixed timestamps, so identical data gives identical bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for key in arrays:
            info = zipfile.ZipInfo(key + ".npy", date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, npy_bytes(arrays[key]), compresslevel=9)


def as_outputs(result, ctx: Ctx) -> list:
    """Normalises a reference's return value to a list of T."""
    items = result if isinstance(result, (list, tuple)) else [result]
    out = []
    for r in items:
        if isinstance(r, T):
            out.append(r)
            continue
        r = np.asarray(r)
        name = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32",
                np.dtype(np.float64): "f64", np.dtype(np.bool_): "pred"}.get(r.dtype)
        if name is None:
            name = {"u": "u", "i": "s"}[r.dtype.kind] + str(r.dtype.itemsize * 8)
        if name == "f32" and ctx.dtype == "bf16":
            name = "bf16"
        out.append(T(r, name))
    return out


def expand(case, k: int) -> tuple[dict, dict]:
    """(manifest entry, arrays) of one case, the k-th of its op's file."""
    entry = {"name": case.name, "op": case.op, "file": file_stem(case.op) + ".npz",
             "key": f"c{k}", "attrs": case.attrs, "variants": []}
    if case.expect_error:
        entry["expect_error"] = True
    if case.meta_only:
        entry["meta_only"] = True
    if case.tol_scale != 1:
        entry["tol_scale"] = case.tol_scale
    arrays = {}
    for dt in expand_dtypes(case.dtypes):
        rng = np.random.default_rng(seed_for(case.name, dt))
        in_dts = [spec.resolve_dtype(dt) for spec in case.inputs]
        ins = [draw(spec, d, rng) for spec, d in zip(case.inputs, in_dts)]
        variant = {"dtype": dt, "in": in_dts, "out": []}
        for i, (a, d) in enumerate(zip(ins, in_dts)):
            arrays[f"c{k}.{dt}.i{i}"] = storage(a, d)
        if not case.expect_error:
            ctx = Ctx(dt, in_dts, case.attrs)
            with np.errstate(all="ignore"):
                outs = as_outputs(case.ref(ctx, *ins), ctx)
            for i, o in enumerate(outs):
                arrays[f"c{k}.{dt}.o{i}"] = storage(o.array, o.dtype)
                variant["out"].append(o.dtype)
        entry["variants"].append(variant)
    return entry, arrays


def generate(out_dir: str) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    table = case_table.all_cases()
    names = [c.name for c in table]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"duplicate case names: {sorted(dup)}")
    by_file: dict = {}
    entries = []
    per_file: dict = {}
    for case in table:
        k = per_file.get(case.op, 0)
        per_file[case.op] = k + 1
        entry, arrays = expand(case, k)
        entries.append(entry)
        by_file.setdefault(entry["file"], {}).update(arrays)
    for name, arrays in sorted(by_file.items()):
        write_npz(os.path.join(out_dir, name), arrays)
    manifest = {"format": FORMAT,
                "tolerance": {k: list(v) for k, v in TOLERANCE.items()},
                "cases": entries}
    lines = ["{", f' "format": {FORMAT},',
             f' "tolerance": {json.dumps(manifest["tolerance"], sort_keys=True)},',
             ' "cases": [']
    for i, e in enumerate(entries):
        sep = "," if i + 1 < len(entries) else ""
        lines.append("  " + json.dumps(e, sort_keys=True, separators=(",", ":"), allow_nan=False)
                     + sep)
    lines += [" ]", "}", ""]
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        f.write("\n".join(lines))
    return {"cases": len(entries), "variants": sum(len(e["variants"]) for e in entries),
            "files": len(by_file) + 1}


def directory_contents(d: str) -> dict:
    """File name -> content; an NPZ's content is its members' uncompressed bytes, so that the
    check does not depend on the zlib version that deflated them."""
    out = {}
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if name.endswith(".npz"):
            with zipfile.ZipFile(path) as z:
                out[name] = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        else:
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


def directory_size(d: str) -> int:
    return sum(os.path.getsize(os.path.join(d, name)) for name in os.listdir(d))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with data/")
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            stats = generate(tmp)
            want, have = directory_contents(tmp), directory_contents(args.out)
        stale = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        if stale:
            print("conformance data is stale; rerun gen_reference.py. Differing files:")
            for k in stale:
                print("  " + k)
            return 1
        print(f"conformance data up to date: {stats['cases']} cases, {stats['variants']} tests")
        return 0
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name.endswith(".npz") or name == "manifest.json":
                os.remove(os.path.join(args.out, name))
    stats = generate(args.out)
    size = directory_size(args.out)
    print(f"wrote {stats['files']} files ({size / 1e6:.2f} MB): {stats['cases']} cases, "
          f"{stats['variants']} tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
