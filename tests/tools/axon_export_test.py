#!/usr/bin/env python3
"""Tests `axon export` on the committed MLP (fuzz/corpus/onnx_fuzzer/mlp.onnx, opset 13:
y = relu(x @ w1 + b1) @ w2.T + b2, x: float[batch][4]) against NumPy.

- export without --params: onnx.checker (full check) passes, the opset is 17, the batch stays
  symbolic, and `axon run` on the exported file gives NumPy's output at two batch sizes;
- export --batch 3: the input is float[3][4];
- export of an opset 6 model (Add with broadcast=1 and axis, BatchNormalization with is_test=1,
  Relu with consumed_inputs): opset 17, onnx.checker passes, outputs equal NumPy's;
- export --params: a safetensors file of new weights (written here, as ModelState::save names
  them: "<layer>.<initializer>") replaces the model's, and the output is NumPy's with them;
- errors: a missing model, a missing params file, a wrong parameter shape, a missing and an extra
  parameter, no -o: nonzero exit and a message naming what is wrong.

Usage: axon_export_test.py AXON_BINARY MODEL.onnx WORK_DIR (run with /usr/bin/python3: Debian's
python3-onnx and python3-numpy). Exits 1 naming the first failed check."""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "axon", "onnx", "export_check.py")


def axon(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def expect(cond, what):
    if not cond:
        print("FAILED: " + what)
        sys.exit(1)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def mlp(x, w):
    return np.maximum(x @ w["w1"] + w["b1"], 0) @ w["w2"].T + w["b2"]


def run_model(binary, model, x, work):
    xin, out = os.path.join(work, "x.npy"), os.path.join(work, "y.npz")
    np.save(xin, x)
    r = axon(binary, "run", model, "--input", "x=" + xin, "--output", out)
    expect(r.returncode == 0, f"axon run {model}: {r.stderr}")
    with np.load(out) as z:
        return z[z.files[0]]


def check_export(binary, out, weights, work, batches):
    r = subprocess.run([sys.executable, CHECK, out], capture_output=True, text=True, check=False)
    expect(r.returncode == 0, f"onnx.checker on {out}: {r.stdout}{r.stderr}")
    m = onnx.load(out)
    expect([o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [17],
           f"{out}: opset 17")
    rng = np.random.default_rng(0)
    for b in batches:
        x = rng.uniform(-1, 1, (b, 4)).astype(np.float32)
        y = run_model(binary, out, x, work)
        np.testing.assert_allclose(y, mlp(x, weights), rtol=1e-5, atol=1e-5,
                                   err_msg=f"{out} at batch {b}")
    return m


def old_opset_model(path):
    """y = relu(batchnorm(x + bias[c, h] broadcast at axis 1)), opset 6; and its NumPy twin."""
    rng = np.random.default_rng(2)
    bias = rng.normal(size=(3, 4)).astype(np.float32)
    scale, shift, mean = (rng.normal(size=3).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, 3).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(bias, "bias"), (scale, "scale"), (shift, "shift"), (mean, "mean"), (var, "var")]]
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["h"], broadcast=1, axis=1),
        helper.make_node("BatchNormalization", ["h", "scale", "shift", "mean", "var"], ["b"],
                         is_test=1, epsilon=1e-5, consumed_inputs=[0, 0, 0, 1, 1]),
        helper.make_node("Relu", ["b"], ["y"], consumed_inputs=[0]),
    ]
    graph = helper.make_graph(
        nodes, "old", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 4, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    model.ir_version = 3
    onnx.save(model, path)

    def reference(x):
        h = x + bias[None, :, :, None]
        c = (slice(None), None, None)
        b = (h - mean[c]) / np.sqrt(var[c] + 1e-5) * scale[c] + shift[c]
        return np.maximum(b, 0)
    return reference


def main():
    binary, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    src = onnx.load(model)
    weights = {t.name: numpy_helper.to_array(t) for t in src.graph.initializer}
    # ModelState names of the MLP's parameters: the layer (node name, '.' as '_', or
    # "<op>_<n>") and the initializer.
    names = {"w1": "fc1_matmul.w1", "b1": "Add_0.b1", "w2": "Gemm_0.w2", "b2": "Gemm_0.b2"}

    out = os.path.join(work, "mlp17.onnx")
    r = axon(binary, "export", model, "-o", out)
    expect(r.returncode == 0 and "batch symbolic" in r.stdout, f"export: {r.stdout}{r.stderr}")
    m = check_export(binary, out, weights, work, [1, 5])
    expect(m.graph.input[0].type.tensor_type.shape.dim[0].dim_param != "",
           "the exported batch is symbolic")

    out3 = os.path.join(work, "mlp17_b3.onnx")
    r = axon(binary, "export", model, "-o", out3, "--batch", "3")
    expect(r.returncode == 0, f"export --batch 3: {r.stderr}")
    m = check_export(binary, out3, weights, work, [3])
    expect([d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [3, 4],
           "export --batch 3 declares float[3][4]")

    old = os.path.join(work, "old6.onnx")
    reference = old_opset_model(old)
    out6 = os.path.join(work, "old6_to17.onnx")
    r = axon(binary, "export", old, "-o", out6)
    expect(r.returncode == 0 and "from opset 6" in r.stdout,
           f"export opset 6: {r.stdout}{r.stderr}")
    r = subprocess.run([sys.executable, CHECK, out6], capture_output=True, text=True, check=False)
    expect(r.returncode == 0, f"onnx.checker on {out6}: {r.stdout}{r.stderr}")
    expect([o.version for o in onnx.load(out6).opset_import if o.domain in ("", "ai.onnx")] == [17],
           f"{out6}: opset 17")
    for b in [1, 3]:
        x = np.random.default_rng(b).normal(size=(b, 3, 4, 5)).astype(np.float32)
        for model_file in [old, out6]:
            np.testing.assert_allclose(run_model(binary, model_file, x, work), reference(x),
                                       rtol=1e-5, atol=1e-5, err_msg=f"{model_file} at batch {b}")

    rng = np.random.default_rng(1)
    tuned = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in weights.items()}
    params = os.path.join(work, "tuned.safetensors")
    write_safetensors(params, {names[k]: v for k, v in tuned.items()})
    outp = os.path.join(work, "mlp17_tuned.onnx")
    r = axon(binary, "export", model, "-o", outp, "--params", params)
    expect(r.returncode == 0, f"export --params: {r.stdout}{r.stderr}")
    check_export(binary, outp, tuned, work, [2, 7])

    def fails(args, *needles):
        r = axon(binary, "export", *args)
        expect(r.returncode != 0, f"export {args} should fail")
        for n in needles:
            expect(n in r.stderr, f"export {args}: '{n}' not in: {r.stderr}")

    bad = os.path.join(work, "bad.safetensors")
    fails([os.path.join(work, "missing.onnx"), "-o", out], "no such file")
    fails([model, "-o", out, "--params", os.path.join(work, "missing.safetensors")],
          "missing.safetensors")
    wrong = dict(tuned, w2=np.zeros((8, 3), np.float32))
    write_safetensors(bad, {names[k]: v for k, v in wrong.items()})
    fails([model, "-o", out, "--params", bad], "Gemm_0.w2", "f32[3][8]", "f32[8][3]")
    write_safetensors(bad, {names[k]: v for k, v in tuned.items() if k != "b1"})
    fails([model, "-o", out, "--params", bad], "Add_0.b1: missing")
    write_safetensors(bad, dict({names[k]: v for k, v in tuned.items()},
                                **{"head.kernel": np.zeros(2, np.float32)}))
    fails([model, "-o", out, "--params", bad], "head.kernel: not a parameter")
    fails([model], "needs -o")
    print("axon export: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
