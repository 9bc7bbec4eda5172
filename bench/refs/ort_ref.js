// ONNX Runtime reference worker for bench/run.py (the "ort" kind).
//
// Speaks the line protocol of nx_bench and torch_ref.py (bench/README.md: hello, list, setup,
// run, teardown, quit) and implements the onnx.* workloads of bench/axon/onnx_bench.cpp: the same
// .onnx file (DIR/MODEL.onnx, written by bench/refs/onnx_models.py), the same ramp input, one
// awaited session.run per timed call, each result kept until the next replaces it.
//
//   NODE_PATH=BUILD/ort/node_modules node bench/refs/ort_ref.js --models DIR --intra-threads N
//
// The session configuration is fixed per process (bench/run.py starts one worker per setting):
// CPU execution provider, intraOpNumThreads N, interOpNumThreads 1, graphOptimizationLevel 'all',
// sequential execution. onnxruntime-node comes from npm (tests/axon/onnx/ort/install.sh BUILD).
'use strict';
const path = require('path');
const readline = require('readline');

function parseArgs(argv) {
  const args = {models: process.env.AXON_BENCH_MODELS || '', intra: 1};
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--models') args.models = argv[++i];
    else if (argv[i] === '--intra-threads') args.intra = Number(argv[++i]);
    else throw new Error(`ort_ref.js: unknown argument ${argv[i]}`);
  }
  if (!(Number.isInteger(args.intra) && args.intra >= 1)) {
    throw new Error('ort_ref.js: --intra-threads expects an integer >= 1');
  }
  return args;
}

const ARGS = parseArgs(process.argv.slice(2));

// A missing package is reported per request rather than by dying, so that run.py can say why.
let ort = null;
let ortVersion = null;
let ortMissing = null;
try {
  ort = require('onnxruntime-node');
  ortVersion = require('onnxruntime-node/package.json').version;
} catch (e) {
  ortMissing = `onnxruntime-node is not installed (${e.code || e.message}); ` +
      'run tests/axon/onnx/ort/install.sh BUILD and set NODE_PATH=BUILD/ort/node_modules';
}

const SESSION_OPTIONS = {
  executionProviders: ['cpu'],
  intraOpNumThreads: ARGS.intra,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
};

function system() {
  const t = ARGS.intra;
  return `onnxruntime-node ${ortVersion || '(missing)'} CPU (intraOpNumThreads ${t}, ` +
      'interOpNumThreads 1, graph optimization all, sequential)';
}

// ---- inputs ----------------------------------------------------------------------------------

// f32 x[i] = lo + (hi - lo) * (i mod period) / period, as bench/nx/inputs.hpp makes it (in f32).
function ramp(dims, period, lo, hi) {
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  const step = Math.fround(Math.fround(hi - lo) / period);
  for (let i = 0; i < n; ++i) x[i] = Math.fround(lo + Math.fround(step * (i % period)));
  return x;
}

// ---- workloads (bench/axon/onnx_bench.cpp) ---------------------------------------------------

// model -> one sample's shape; the workload onnx.MODEL_bN runs a batch of N.
const MODELS = {
  resnet18: [3, 224, 224],
  mobilenet_v2: [3, 224, 224],
  transformer_encoder: [128, 512],
};
const WORKLOADS = [
  ['onnx.resnet18_b1', 'resnet18', 1],
  ['onnx.resnet18_b16', 'resnet18', 16],
  ['onnx.mobilenet_v2_b1', 'mobilenet_v2', 1],
  ['onnx.transformer_encoder_b2', 'transformer_encoder', 2],
];

async function setup(key) {
  const w = WORKLOADS.find((entry) => entry[0] === key);
  if (!w) throw new Error(`unknown benchmark ${key}`);
  if (ortMissing) throw new Error(ortMissing);
  if (!ARGS.models) throw new Error('no model directory: pass --models DIR or AXON_BENCH_MODELS');
  const [, model, batch] = w;
  const file = path.join(ARGS.models, `${model}.onnx`);
  const session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
  const dims = [batch, ...MODELS[model]];
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', ramp(dims, 251, -1, 1), dims)};
  let out = await session.run(feeds);  // Untimed: the first run allocates and plans.
  return {
    session,
    async run(reps) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < reps; ++i) out = await session.run(feeds);
      return Number(process.hrtime.bigint() - start) / 1e9;
    },
  };
}

// ---- protocol --------------------------------------------------------------------------------

function oneLine(text) {
  return String(text).split(/\s+/).filter((s) => s).join(' ');
}

async function serve() {
  const live = new Map();
  const rl = readline.createInterface({input: process.stdin, terminal: false});
  const write = (line) => process.stdout.write(line + '\n');
  for await (const line of rl) {
    const words = line.split(/\s+/).filter((s) => s);
    if (words.length === 0) continue;
    const [cmd, key = ''] = words;
    let reply;
    try {
      if (cmd === 'hello') {
        reply = 'ok ' + system();
      } else if (cmd === 'list') {
        for (const [name] of WORKLOADS) write(name);
        reply = 'end';
      } else if (cmd === 'setup') {
        await teardown(live, key);
        live.set(key, await setup(key));
        reply = 'ok';
      } else if (cmd === 'run') {
        const reps = Number(words[2] || 0);
        if (!live.has(key)) reply = `error ${key} is not set up`;
        else if (!(Number.isInteger(reps) && reps >= 1)) reply = 'error run needs REPS >= 1';
        else reply = `ok ${(await live.get(key).run(reps)).toPrecision(9)}`;
      } else if (cmd === 'teardown') {
        await teardown(live, key);
        reply = 'ok';
      } else if (cmd === 'quit') {
        break;
      } else {
        reply = `error unknown command ${cmd}`;
      }
    } catch (e) {  // A failing workload is reported, never fatal to the worker.
      reply = 'error ' + oneLine(e && e.message ? e.message : e);
    }
    write(reply);
  }
  for (const key of [...live.keys()]) await teardown(live, key);
  process.exit(0);
}

async function teardown(live, key) {
  const w = live.get(key);
  live.delete(key);
  if (w && w.session.release) await w.session.release();
}

serve();
