// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU) and compares its outputs with
// expected values. Used by tests/axon/onnx/export_test.cpp; run by hand as
//   NODE_PATH=<dir>/node_modules node run_ort.js model.onnx case.json
// case.json: {"inputs": {name: {"type", "dims", "data"}}, "outputs": {name: {same}},
//             "atol": a, "rtol": r}. Types: float32, float64, int32, int64, bool.
// Install the runtime with `npm install --ignore-scripts onnxruntime-node` in <dir> (the package
// carries its CPU build; the install script only fetches CUDA parts).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function toTensor(t) {
  let data;
  switch (t.type) {
    case 'float32': data = Float32Array.from(t.data); break;
    case 'float64': data = Float64Array.from(t.data); break;
    case 'int32': data = Int32Array.from(t.data); break;
    case 'int64': data = BigInt64Array.from(t.data.map((v) => BigInt(v))); break;
    case 'bool': data = Uint8Array.from(t.data.map((v) => (v ? 1 : 0))); break;
    default: throw new Error(`unsupported type ${t.type}`);
  }
  return new ort.Tensor(t.type, data, t.dims);
}

async function main() {
  const [modelPath, casePath] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(casePath, 'utf8'));
  const feeds = {};
  for (const [name, t] of Object.entries(spec.inputs)) feeds[name] = toTensor(t);
  const session = await ort.InferenceSession.create(modelPath);
  const results = await session.run(feeds);
  const atol = spec.atol ?? 1e-4;
  const rtol = spec.rtol ?? 1e-4;
  let ok = true;
  for (const [name, want] of Object.entries(spec.outputs)) {
    const got = results[name];
    if (!got) {
      console.log(`${name}: missing from the runtime's outputs`);
      ok = false;
      continue;
    }
    if (JSON.stringify(Array.from(got.dims)) !== JSON.stringify(want.dims)) {
      console.log(`${name}: dims ${JSON.stringify(got.dims)} != ${JSON.stringify(want.dims)}`);
      ok = false;
      continue;
    }
    let worst = 0;
    for (let i = 0; i < want.data.length; ++i) {
      const g = Number(got.data[i]);
      const w = Number(want.data[i]);
      const err = Math.abs(g - w) - rtol * Math.abs(w);
      if (!(err <= atol)) {
        if (!(worst > err)) worst = err;
        if (ok) console.log(`${name}[${i}]: ${g} != ${w}`);
        ok = false;
      }
    }
    console.log(`${name}: ${want.data.length} values${ok ? ' match' : ''}`);
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(`error: ${e.message}`);
  process.exit(2);
});
