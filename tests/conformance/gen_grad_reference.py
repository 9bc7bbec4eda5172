#!/usr/bin/python3
"""Writes the reference data of the conformance harness's gradient mode: data_grad/<op>.npz and
data_grad/manifest.json, from grad_cases.py.

Run with Debian's Python, which has NumPy and PyTorch:

    /usr/bin/python3 tests/conformance/gen_grad_reference.py          # regenerate
    /usr/bin/python3 tests/conformance/gen_grad_reference.py --check  # verify the committed data

For each case: the inputs (drawn from the case name; floating inputs as float32 values, which
float64 holds exactly, so both modes of the C++ test see the same numbers), one weight array per
output entering L = sum_k sum(w_k * out_k) (float32 values, drawn from the case name), and
PyTorch's autograd gradient of L with respect to each differentiated input. PyTorch computes in
float64 on those inputs and the gradient is rounded once to the input's dtype, so the reference
carries no float32 error of its own. Zero-gradient cases store no gradient (nx must give zeros).

NPZ keys, per case key <c> ("c0", "c1", ... within the op's file): <c>.i<n> inputs, <c>.w<j>
weights of output j, <c>.L the value of L (float64; checks that the torch function computes what
the nx op does), <c>.g<n> the gradient of input n. Manifest: {"format", "non_differentiable":
{op: reason}, "cases": [{"name", "op", "file", "key", "attrs", "in": [dtype or "float"],
"num_outputs", "outputs": [j...], "wrt": [n...], "modes": ["f32", "f64"], "zero_grad",
"tol_scale"}]}.
"""

import argparse
import json
import os
import sys
import tempfile
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import grad_cases  # noqa: E402
from gen_reference import directory_size, file_stem, write_npz  # noqa: E402
from grad_core import FLOAT, GradCase, case_rng, draw  # noqa: E402

FORMAT = 1


def torch_input(spec, a: np.ndarray, wanted: bool) -> torch.Tensor:
    if spec.is_float:
        return torch.from_numpy(a.astype(np.float64)).requires_grad_(wanted)
    if spec.dtype == "pred":
        return torch.from_numpy(a.copy())
    return torch.from_numpy(a.astype(np.int64))


def expand(case: GradCase, k: int) -> tuple:
    """(manifest entry, arrays) of one case, the k-th of its op's file."""
    key = f"c{k}"
    wrt = case.wrt_positions()
    rng = case_rng(case, "inputs")
    ins = [draw(spec, rng) for spec in case.inputs]
    arrays = {f"{key}.i{n}": np.array(a, order="C") for n, a in enumerate(ins)}
    tins = [torch_input(s, a, n in wrt) for n, (s, a) in enumerate(zip(case.inputs, ins))]
    outs = case.torch_ref(case.attrs, *tins)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    used = [j for j, o in enumerate(outs) if case.zero_grad or o.is_floating_point()]
    wrng = case_rng(case, "weights")
    loss = torch.zeros((), dtype=torch.float64)
    for j in used:
        w = wrng.standard_normal(size=tuple(outs[j].shape)).astype(np.float32)
        arrays[f"{key}.w{j}"] = w
        loss = loss + (torch.from_numpy(w.astype(np.float64)) * outs[j].to(torch.float64)).sum()
    arrays[f"{key}.L"] = np.array(loss.item(), dtype=np.float64)
    if not case.zero_grad:
        grads = ([None] * len(wrt) if not loss.requires_grad else  # no path: zero gradient
                 torch.autograd.grad(loss, [tins[n] for n in wrt], allow_unused=True))
        for n, g in zip(wrt, grads):
            g = torch.zeros_like(tins[n]) if g is None else g
            dtype = np.float32 if case.inputs[n].dtype == FLOAT else np.float64
            arrays[f"{key}.g{n}"] = g.detach().numpy().astype(dtype)
    entry = {"name": case.name, "op": case.op, "file": file_stem(case.op) + ".npz", "key": key,
             "attrs": case.attrs, "in": [s.dtype for s in case.inputs],
             "num_outputs": len(outs), "outputs": used, "wrt": wrt,
             "modes": case.float_modes()}
    if case.zero_grad:
        entry["zero_grad"] = True
    if case.tol_scale != 1:
        entry["tol_scale"] = case.tol_scale
    return entry, arrays


def generate(out_dir: str) -> dict:
    torch.set_num_threads(1)  # one summation order: the same bits on every run
    os.makedirs(out_dir, exist_ok=True)
    table = grad_cases.all_cases()
    names = [c.name for c in table]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SystemExit(f"duplicate gradient case names: {dup}")
    listed = sorted({c.op for c in table} & set(grad_cases.NON_DIFFERENTIABLE))
    if listed:
        raise SystemExit(f"ops both in NON_DIFFERENTIABLE and in gradient cases: {listed}")
    by_file: dict = {}
    entries = []
    per_op: dict = {}
    for case in table:
        k = per_op.get(case.op, 0)
        per_op[case.op] = k + 1
        try:
            entry, arrays = expand(case, k)
        except Exception as e:
            raise SystemExit(f"gradient case {case.name}: {type(e).__name__}: {e}")
        entries.append(entry)
        by_file.setdefault(entry["file"], {}).update(arrays)
    for name, arrays in sorted(by_file.items()):
        write_npz(os.path.join(out_dir, name), arrays)
    lines = ["{", f' "format": {FORMAT},',
             ' "non_differentiable": '
             + json.dumps(grad_cases.NON_DIFFERENTIABLE, sort_keys=True) + ",",
             ' "cases": [']
    for i, e in enumerate(entries):
        sep = "," if i + 1 < len(entries) else ""
        lines.append("  " + json.dumps(e, sort_keys=True, separators=(",", ":"), allow_nan=False)
                     + sep)
    lines += [" ]", "}", ""]
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        f.write("\n".join(lines))
    return {"cases": len(entries), "zero": sum(1 for e in entries if e.get("zero_grad")),
            "files": len(by_file) + 1}


def arrays_of(path: str) -> dict:
    with zipfile.ZipFile(path) as z:
        return {i.filename[:-4]: np.load(z.open(i.filename)) for i in z.infolist()}


def stale_files(want_dir: str, have_dir: str) -> list:
    """Files that differ. Inputs, weights and the manifest must match exactly; gradients to
    within a few units in the last place, since torch's float64 summation order may differ
    between machines."""
    want, have = sorted(os.listdir(want_dir)), sorted(os.listdir(have_dir))
    out = sorted(set(want) ^ set(have))
    for name in sorted(set(want) & set(have)):
        a, b = os.path.join(want_dir, name), os.path.join(have_dir, name)
        if not name.endswith(".npz"):
            with open(a, "rb") as fa, open(b, "rb") as fb:
                if fa.read() != fb.read():
                    out.append(name)
            continue
        wa, hb = arrays_of(a), arrays_of(b)
        same = list(wa) == list(hb)
        for k in wa if same else []:
            x, y = wa[k], hb[k]
            if x.dtype != y.dtype or x.shape != y.shape:
                same = False
            elif ".g" in k or k.endswith(".L"):
                scale = float(np.abs(x).max(initial=0.0))
                same = same and np.allclose(x, y, rtol=1e-6, atol=1e-7 * scale, equal_nan=True)
            else:
                same = same and x.tobytes() == y.tobytes()
        if not same:
            out.append(name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with data_grad/")
    ap.add_argument("--out", default=os.path.join(HERE, "data_grad"))
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            stats = generate(tmp)
            stale = stale_files(tmp, args.out)
        if stale:
            print("gradient reference data is stale; rerun gen_grad_reference.py. Differing files:")
            for k in stale:
                print("  " + k)
            return 1
        print(f"gradient reference data up to date: {stats['cases']} cases")
        return 0
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name.endswith(".npz") or name == "manifest.json":
                os.remove(os.path.join(args.out, name))
    stats = generate(args.out)
    print(f"wrote {stats['files']} files ({directory_size(args.out) / 1e6:.2f} MB): "
          f"{stats['cases']} cases ({stats['zero']} zero-gradient)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
