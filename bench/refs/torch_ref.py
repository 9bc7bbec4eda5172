#!/usr/bin/python3
"""PyTorch reference worker for bench/run.py.

Speaks the same line protocol as nx_bench (see bench/README.md) and implements, under the same
names, the workloads that nx_bench registers with a "torch" reference: same shapes, same dtypes,
same input values (ramp() matches bench/nx/inputs.hpp), same eager call per timed repetition.

The thread configuration is fixed per process, because OpenBLAS reads OPENBLAS_NUM_THREADS only
when it is loaded, i.e. before `import torch`:

    torch_ref.py --torch-threads 1                     Debian's default (OpenBLAS keeps its own)
    torch_ref.py --torch-threads 2 --blas-threads 1    intra-op parallel torch, serial BLAS

Run with /usr/bin/python3: Debian's python3-torch belongs to it.
"""

import argparse
import os
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="torch.set_num_threads(N); default: leave torch's own default")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OPENBLAS_NUM_THREADS for this process; default: leave unset")
    ap.add_argument("--peak-rss", nargs=2, metavar=("NAME", "REPS"),
                    help="set NAME up, run it REPS times, print 'ok PEAK_BYTES START_BYTES "
                         "SYSTEM' (peak and pre-setup resident memory of this process) and exit")
    return ap.parse_args()


ARGS = parse_args()
if ARGS.blas_threads is not None:
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)

import torch  # noqa: E402  (must follow the environment set-up above)

if ARGS.torch_threads is not None:
    torch.set_num_threads(ARGS.torch_threads)


def blas_library():
    """Which BLAS this process actually loaded: OPENBLAS_NUM_THREADS only matters for OpenBLAS."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown BLAS"
    if "openblas" in maps.lower():
        return "OpenBLAS"
    if "libmkl" in maps:
        return "MKL"
    if "libblis" in maps:
        return "BLIS"
    if "/libblas.so" in maps:
        return "netlib BLAS"
    return "unknown BLAS"


def system():
    threads = torch.get_num_threads()
    blas = blas_library()
    if ARGS.blas_threads is not None:
        effect = "" if blas == "OpenBLAS" else " (no effect)"
        blas += f", OPENBLAS_NUM_THREADS={ARGS.blas_threads}{effect}"
    version = torch.__version__.split("a")[0].split("+")[0]
    return f"pytorch {version} eager ({threads} torch thread{'s' if threads != 1 else ''}; {blas})"


# ---- inputs -------------------------------------------------------------------------------------

def ramp(shape, period, lo, hi):
    """f32 x[i] = lo + (hi - lo) * (i mod period) / period, as bench/nx/inputs.hpp makes it."""
    n = 1
    for d in shape:
        n *= d
    step = torch.tensor((hi - lo) / period, dtype=torch.float32)
    k = (torch.arange(n, dtype=torch.int64) % period).to(torch.float32)
    return (lo + step * k).reshape(shape)


# ---- timing loops -------------------------------------------------------------------------------
# Each workload's setup returns run(reps) -> seconds. The loops call the op directly (no *args,
# no lambda) so that Python adds as little as it can to the per-call cost, and keep each result
# until the next call replaces it, exactly as nx_bench does.

def timed_unary(fn, x):
    def run(reps):
        out = None
        start = time.perf_counter()
        for _ in range(reps):
            out = fn(x)
        seconds = time.perf_counter() - start
        del out
        return seconds
    return run


def timed_binary(fn, a, b):
    def run(reps):
        out = None
        start = time.perf_counter()
        for _ in range(reps):
            out = fn(a, b)
        seconds = time.perf_counter() - start
        del out
        return seconds
    return run


N16M = 16 << 20


def matmul(n, dtype):
    def setup():
        a = ramp((n, n), 17, -1.0, 1.0).to(dtype)
        b = ramp((n, n), 13, -1.0, 1.0).to(dtype)
        return timed_binary(torch.matmul, a, b)
    return setup


def conv2d_resnet3x3(dtype):
    def setup():
        x = ramp((16, 64, 56, 56), 17, -1.0, 1.0).to(dtype)
        w = ramp((64, 64, 3, 3), 13, -1.0, 1.0).to(dtype)
        conv = torch.nn.functional.conv2d

        def run(reps):
            out = None
            start = time.perf_counter()
            for _ in range(reps):
                out = conv(x, w, None, 1, 1)
            seconds = time.perf_counter() - start
            del out
            return seconds
        return run
    return setup


# ---- training steps (bench/defn/*.cpp; the models are in torch_steps.py) --------------------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_steps  # noqa: E402


def timed_step(trainer):
    """run(reps): reps training steps, each keeping its loss until the next replaces it."""
    def run(reps):
        loss = None
        start = time.perf_counter()
        for _ in range(reps):
            loss = trainer.step()
        seconds = time.perf_counter() - start
        del loss
        return seconds
    return run


def adam_step(make_model, make_batch):
    """Adam with foreach on or off, whichever is faster here (probed at setup)."""
    def setup():
        trainer, _ = torch_steps.fastest_adam_trainer(make_model, make_batch())
        return timed_step(trainer)
    return setup


def resnet18_sgd_step():
    trainer = torch_steps.sgd_trainer(torch_steps.ResNet18(), torch_steps.resnet18_batch(16))
    return timed_step(trainer)


# ---- optimizer updates (bench/axon/optim_bench.cpp) ----------------------------------------------

def adam_tree_layout():
    """The 39 leaves of optim_bench.cpp's adam_tree_layout(), in the same order: a 3-block
    transformer of width 512, 9,982,464 parameters."""
    d, ff = 512, 2048
    leaves = [(1024, d)]
    for _ in range(3):
        leaves += [(d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,), (d, ff), (ff,), (ff, d), (d,),
                   (d,), (d,)]
    return leaves + [(d,), (d,)]


def adam_10m():
    """torch.optim.Adam (lr 1e-3, defaults) on the same tree, parameters and gradients: ramps with
    periods 1000 + i and 997 + i for leaf i. foreach on or off, whichever the probe finds faster
    (the issue names foreach; torch 1.13 defaults to off on CPU)."""
    def make(foreach):
        params = [ramp(s, 1000 + i, -0.05, 0.05).requires_grad_() for i, s in
                  enumerate(adam_tree_layout())]
        for i, (p, s) in enumerate(zip(params, adam_tree_layout())):
            p.grad = ramp(s, 997 + i, -1e-3, 1e-3)
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)

    best, best_time = None, None
    for foreach in (True, False):
        opt = make(foreach)
        opt.step()
        start = time.perf_counter()
        for _ in range(3):
            opt.step()
        seconds = time.perf_counter() - start
        if best_time is None or seconds < best_time:
            best, best_time = foreach, seconds
        del opt
    print(f"optim.adam_10M: torch.optim.Adam foreach={best} (the faster here)", file=sys.stderr)
    opt = make(best)
    step = opt.step

    def run(reps):
        start = time.perf_counter()
        for _ in range(reps):
            step()
        return time.perf_counter() - start
    return run


WORKLOADS = {
    "nx.add_f32_16M": lambda: timed_binary(torch.add, ramp((N16M,), 1024, -1.0, 1.0),
                                           ramp((N16M,), 1000, -1.0, 1.0)),
    "nx.exp_f32_16M": lambda: timed_unary(torch.exp, ramp((N16M,), 1024, -4.0, 4.0)),
    "nx.sum_f32_16M": lambda: timed_unary(torch.sum, ramp((N16M,), 1024, -1.0, 1.0)),
    "nx.matmul_f32_1024": matmul(1024, torch.float32),
    "nx.matmul_f32_4096": matmul(4096, torch.float32),
    "nx.matmul_bf16_4096": matmul(4096, torch.bfloat16),
    "nx.conv2d_resnet3x3_f32": conv2d_resnet3x3(torch.float32),
    "nx.conv2d_resnet3x3_bf16": conv2d_resnet3x3(torch.bfloat16),
    "nx.dispatch_add_8": lambda: timed_binary(torch.add, ramp((8,), 8, -1.0, 1.0),
                                              ramp((8,), 8, 0.0, 2.0)),
    "step.mlp_adam_b128": adam_step(torch_steps.Mlp, lambda: torch_steps.mlp_batch(128)),
    "step.cnn_adam_b128": adam_step(torch_steps.Cnn, lambda: torch_steps.cnn_batch(128)),
    "step.resnet18_sgd_b16": resnet18_sgd_step,
    "optim.adam_10M": adam_10m,
}
# Peak memory of the same steps (measured in a fresh process: --peak-rss). No foreach probe:
# that would build the model three times and inflate the peak; foreach=False is torch 1.13's CPU
# default.
WORKLOADS["step.mlp_adam_b128_peak_rss"] = lambda: timed_step(
    torch_steps.adam_trainer(torch_steps.Mlp(), torch_steps.mlp_batch(128)))
WORKLOADS["step.cnn_adam_b128_peak_rss"] = lambda: timed_step(
    torch_steps.adam_trainer(torch_steps.Cnn(), torch_steps.cnn_batch(128)))


# Each bench/refs/torch_fn_*.py (one per area of axon::fn) adds its own WORKLOADS: it receives
# this module's torch and ramp() through register(torch, ramp) and returns a dict name -> setup.
def add_area_workloads():
    import glob
    import importlib.util
    for path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "torch_fn_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for key, setup in module.register(torch, ramp).items():
            if key in WORKLOADS:
                raise RuntimeError(f"{path}: workload {key} is defined twice")
            WORKLOADS[key] = setup


add_area_workloads()

# ---- protocol -----------------------------------------------------------------------------------

def one_line(text):
    return " ".join(str(text).split())


def serve():
    live = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, key = words[0], (words[1] if len(words) > 1 else "")
        try:
            if cmd == "hello":
                reply = "ok " + system()
            elif cmd == "list":
                for name in WORKLOADS:
                    sys.stdout.write(name + "\n")
                reply = "end"
            elif cmd == "setup":
                if key not in WORKLOADS:
                    reply = "error unknown benchmark " + key
                else:
                    live.pop(key, None)
                    live[key] = WORKLOADS[key]()
                    reply = "ok"
            elif cmd == "run":
                reps = int(words[2]) if len(words) > 2 else 0
                if key not in live:
                    reply = f"error {key} is not set up"
                elif reps < 1:
                    reply = "error run needs REPS >= 1"
                else:
                    reply = f"ok {live[key](reps):.9g}"
            elif cmd == "teardown":
                live.pop(key, None)
                reply = "ok"
            elif cmd == "quit":
                return
            else:
                reply = "error unknown command " + cmd
        except Exception as e:  # A failing workload is reported, never fatal to the worker.
            reply = "error " + one_line(f"{type(e).__name__}: {e}")
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss(name, reps):
    """The --peak-rss mode: this process's peak resident memory after running NAME REPS times."""
    import resource
    if name not in WORKLOADS:
        print(f"error unknown benchmark {name}", flush=True)
        return 2
    start = resident_bytes()
    run = WORKLOADS[name]()
    run(reps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"ok {peak} {start} {system()}", flush=True)
    return 0


if __name__ == "__main__":
    if ARGS.peak_rss:
        sys.exit(peak_rss(ARGS.peak_rss[0], int(ARGS.peak_rss[1])))
    serve()
