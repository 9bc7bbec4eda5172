#!/usr/bin/python3
"""Runs the nx benchmarks against their references and writes build/bench/results.json.

    /usr/bin/python3 bench/run.py [--filter REGEX] [--build build] [--binary B] [--out FILE]

nx_bench (our side, plus native references such as memcpy), the PyTorch reference workers
(bench/refs/torch_ref.py, one process per thread configuration) and the ONNX Runtime workers
(bench/refs/ort_ref.js, one per session configuration) are persistent subprocesses that speak
one line protocol. For each benchmark the driver sets every side up, calibrates a batch
size per side, warms up, then times the sides in turn (A B C A B C ...) and reports medians.
bench/README.md documents the protocol, the measurement rules and every workload.
"""

import argparse
import datetime
import json
import math
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_REF = os.path.join(ROOT, "bench", "refs", "torch_ref.py")
ORT_REF = os.path.join(ROOT, "bench", "refs", "ort_ref.js")
ONNX_MODELS = os.path.join(ROOT, "bench", "refs", "onnx_models.py")

# PyTorch's two good thread settings on this machine (BENCH.md): each runs in its own process
# because OPENBLAS_NUM_THREADS must be set before torch is imported.
TORCH_CONFIGS = [
    ["--torch-threads", "1"],
    ["--torch-threads", "2", "--blas-threads", "1"],
]

# ONNX Runtime's settings (CPU, interOpNumThreads 1, graph optimization 'all', sequential): one
# worker per intra-op thread count, the faster counts.
ORT_CONFIGS = [
    ["--intra-threads", "1"],
    ["--intra-threads", "2"],
]

# What reference.system says for a worker kind before its worker has answered hello.
KIND_LABELS = {"torch": "pytorch", "ort": "onnxruntime-node"}

# Worker kinds that cannot run on this machine -> why (filled by main(); such references are
# reported as "not measured" with the reason).
UNAVAILABLE = {}


class WorkerDied(Exception):
    pass


class Worker:
    """A persistent subprocess that answers one line per request (restarted if it dies)."""

    def __init__(self, name, argv, env=None):
        self.name, self.argv, self.env = name, argv, env
        self.proc = None
        self.system = None

    def request(self, line, timeout=None):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT,
                                         env=self.env)
            self.system = None
            self.system = self.ok("hello")
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise WorkerDied(self.death(f"could not send {line!r}: {e}"))
        return self.read(line, timeout)

    def read(self, line, timeout=None):
        # Every earlier reply was read to its end, so nothing is buffered: select() on the pipe
        # tells whether this reply has started to arrive.
        if timeout is not None and not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.proc.kill()  # Our own child, hung in a workload; restarted on the next request.
            raise WorkerDied(self.death(f"no reply to {line!r} within {timeout:.0f} s"))
        reply = self.proc.stdout.readline()
        if not reply:
            raise WorkerDied(self.death(f"no reply to {line!r}"))
        return reply.rstrip("\n")

    def death(self, what):
        code = self.proc.wait()
        self.proc = None
        how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"{self.name} {how}, {what}"

    def ok(self, line, timeout=None):
        """Sends a request; returns the text after "ok", raises RuntimeError on "error"."""
        reply = self.request(line, timeout)
        if reply == "ok" or reply.startswith("ok "):
            return reply[3:]
        if reply.startswith("error "):
            raise RuntimeError(reply[6:])
        raise RuntimeError(f"{self.name}: unexpected reply {reply!r} to {line!r}")

    def lines(self, line):
        """Sends a request whose reply is several lines ending with "end"."""
        out = [self.request(line)]
        while out[-1] != "end":
            out.append(self.read(line))
        return out[:-1]

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Side:
    """One thing to time: our workload, a native reference, or one reference configuration."""

    def __init__(self, label, worker, key, timeout):
        self.label, self.worker, self.key, self.timeout = label, worker, key, timeout
        self.reps = 1
        self.times = []  # Seconds per call, one per timed batch.
        self.error = None
        self.batch_seconds = 0.0  # Of the calibrated batch.
        self.per_call_probe = None  # Seconds per call measured while calibrating.
        self.pruned = False  # A slower configuration dropped after the probe.

    def run(self, reps):
        return float(self.worker.ok(f"run {self.key} {reps}", self.timeout))


# ---- measurement ---------------------------------------------------------------------------------

def calibrate(side, opts):
    """Grows the batch until one batch takes about opts.batch seconds (sub-ms ops are timed in
    batches of calls); the calls made here are also the warm-up. Returns seconds per call."""
    reps, seconds = 1, side.run(1)
    for _ in range(4):
        if seconds >= opts.batch / 2 or seconds >= opts.slow:
            break
        grow = opts.batch / max(seconds, 1e-9)
        reps = max(reps + 1, min(int(reps * grow), 10_000_000))
        seconds = side.run(reps)
    side.reps = reps
    side.batch_seconds = seconds
    return seconds / reps


def measure(sides, groups, opts):
    """Calibrates and warms up every side, then times them in turn, round after round, filling
    side.times. sides[0] is ours; groups are the configurations of each reference."""
    for s in sides:  # If ours cannot run, the references are not timed.
        if s.error is not None:
            continue
        try:
            s.per_call_probe = calibrate(s, opts)
            if s.batch_seconds < opts.slow:
                s.run(s.reps)  # A second warm-up batch at the final size.
        except (RuntimeError, WorkerDied) as e:
            s.error = str(e)
        if sides[0].error is not None:
            return

    # A reference with several configurations whose calls are slow keeps only the fastest after
    # the probe: timing both for >= 5 rounds would dominate the whole run.
    for group in groups:
        ok = [s for s in group if s.error is None]
        if len(ok) > 1 and min(s.batch_seconds for s in ok) >= opts.slow:
            best = min(ok, key=lambda s: s.per_call_probe)
            for s in ok:
                if s is not best:
                    s.pruned = True

    live = [s for s in sides if s.error is None and not s.pruned]
    if not live:
        return
    round_seconds = sum(s.batch_seconds for s in live)
    if max(s.batch_seconds for s in live) >= opts.too_slow:
        runs = 1  # A call this slow is a bug to report, not a figure to refine.
    else:
        runs = int(max(opts.min_runs, min(opts.max_runs, opts.budget // max(round_seconds, 1e-9))))
    for _ in range(runs):
        for s in live:
            if s.error is not None:
                continue
            time.sleep(opts.settle)  # Let the other process's spinning threads go idle.
            try:
                s.times.append(s.run(s.reps) / s.reps)
            except (RuntimeError, WorkerDied) as e:
                s.error = str(e)


def value_of(bench, seconds_per_call):
    if bench["unit"] == "us/call":
        return seconds_per_call * 1e6
    if bench["unit"] == "ms":
        return seconds_per_call * 1e3
    if bench["unit"] == "samples/s":
        return bench["work"] / seconds_per_call
    if bench["unit"] == PEAK_RSS_UNIT:
        return seconds_per_call  # Not a time: run_peak_rss stores MiB in Side.times.
    return bench["work"] / seconds_per_call / 1e9


def summary(bench, side):
    values = [value_of(bench, t) for t in side.times]
    med = statistics.median(values)
    return {"value": med, "runs": len(values),
            "spread": (max(values) - min(values)) / med if med else 0.0}


def better(bench, a, b):
    return a > b if bench["higher_is_better"] else a < b


# ---- one benchmark -------------------------------------------------------------------------------

def result_rows(bench):
    """(reference, row name) pairs: the first reference's row carries the benchmark's own name,
    each further one NAME.vs_KIND (nx.add_f32_16M is against memcpy, nx.add_f32_16M.vs_torch
    against PyTorch)."""
    refs = bench["references"] or [{"kind": "none"}]
    return [(r, bench["name"] if i == 0 else f"{bench['name']}.vs_{r['kind']}")
            for i, r in enumerate(refs)]


def run_benchmark(bench, selected, ours_worker, ref_workers, opts):
    """Measures our side and the references of the `selected` (reference, row name) pairs;
    ref_workers maps an external kind ("torch", "ort") to its workers, one per configuration."""
    if bench["unit"] == PEAK_RSS_UNIT:
        return run_peak_rss(bench, selected, opts)
    ours = Side("ours", ours_worker, bench["name"], opts.timeout)
    sides, groups, ref_sides = [ours], [], {}
    for ref, _ in selected:
        if ref["kind"] == "none":
            continue
        if "key" in ref:  # Native: measured inside nx_bench.
            group = [Side(ref["system"], ours_worker, ref["key"], opts.timeout)]
        elif ref["kind"] in ref_workers and ref["kind"] not in UNAVAILABLE:
            group = [Side(None, w, bench["name"], opts.timeout) for w in ref_workers[ref["kind"]]]
        else:
            group = []  # No worker of that kind: reported as "not measured".
        ref_sides[id(ref)] = group
        groups.append(group)
        sides += group

    kinds = {id(s): ref["kind"] for ref, _ in selected for s in ref_sides.get(id(ref), [])}
    for s in sides:
        try:
            s.worker.ok(f"setup {s.key}", opts.timeout)
        except (RuntimeError, WorkerDied) as e:
            s.error = str(e)
        if s.label is None:
            s.label = s.worker.system or KIND_LABELS.get(kinds.get(id(s)), "reference")
        if ours.error is not None:
            break  # Nothing to compare with: do not build the references' inputs.

    if ours.error is None:
        measure(sides, groups, opts)
    for s in sides:
        try:
            if s.worker.proc is not None:
                s.worker.ok(f"teardown {s.key}")
        except (RuntimeError, WorkerDied):
            pass
    return report(bench, selected, ours, sides, ref_sides)


def report(bench, selected, ours, sides, ref_sides):
    """Prints every side's figures and returns the result rows."""
    if ours.error is None and not ours.times:
        ours.error = "no timed runs"
    for s in sides:  # Every side's figures, for whoever watches the run.
        if s.times:
            st = summary(bench, s)
            print(f"    {fmt(st['value']):>10} {bench['unit']:8} spread {100 * st['spread']:5.1f}%"
                  f"  x{st['runs']:<3} batch {s.reps:<7} {s.label}", file=sys.stderr)
        elif s.error or s.pruned:
            print(f"    {'-':>10} {'':8} {s.error or 'pruned after the probe'}  {s.label}",
                  file=sys.stderr)
    rows = []
    for ref, name in selected:
        row = {"name": name, "unit": bench["unit"], "higher_is_better": bench["higher_is_better"],
               "description": bench["description"]}
        if ours.error is None:
            mine = summary(bench, ours)
            row.update(ours=mine["value"], runs=mine["runs"], spread=mine["spread"])
        else:
            row.update(ours=None, runs=0, spread=None, error=ours.error)
        row["reference"], ref_value = reference_entry(bench, ref, ref_sides.get(id(ref), []))
        if row["ours"] is not None and ref_value is not None:
            row["ratio"] = (row["ours"] / ref_value if bench["higher_is_better"]
                            else ref_value / row["ours"])
        else:
            row["ratio"] = None
        rows.append(row)
    return rows


# ---- peak memory ---------------------------------------------------------------------------------
# A MiB benchmark is the peak resident memory of a fresh process that sets the workload up and
# runs it PEAK_RSS_STEPS times: `nx_bench --peak-rss NAME STEPS` for ours, `torch_ref.py CONFIG
# --peak-rss NAME STEPS` for each PyTorch configuration. A fresh process per measurement, because
# the high-water mark of a long-lived worker remembers every earlier benchmark. Each prints
# "ok PEAK_BYTES START_BYTES SYSTEM"; START (resident memory before the setup: code and libraries
# loaded, torch imported) is reported beside the peak.

PEAK_RSS_UNIT = "MiB"
PEAK_RSS_STEPS = 10


def peak_rss_once(argv, timeout):
    """Runs one --peak-rss process; returns (peak MiB, start MiB, system)."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"no result within {timeout:.0f} s")
    lines = done.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    if done.returncode != 0 or not last.startswith("ok "):
        why = (done.stderr.strip().splitlines() or [last or f"exit status {done.returncode}"])[-1]
        raise RuntimeError(why)
    peak, start, system = last[3:].split(" ", 2)
    return int(peak) / 2**20, int(start) / 2**20, system


def run_peak_rss(bench, selected, opts):
    name, steps = bench["name"], str(PEAK_RSS_STEPS)
    ours = Side("ours", None, name, opts.timeout)
    ours.argv = [opts.binary, "--peak-rss", name, steps]
    sides, ref_sides = [ours], {}
    for ref, _ in selected:
        group = []
        if ref["kind"] == "torch":
            for config in TORCH_CONFIGS:
                s = Side(None, None, name, opts.timeout)
                s.argv = [sys.executable, TORCH_REF] + config + ["--peak-rss", name, steps]
                group.append(s)
        ref_sides[id(ref)] = group
        sides += group
    for s in sides:
        s.starts = []
    for _ in range(opts.min_runs):  # Alternating, as the timed benchmarks.
        for s in sides:
            if s.error is not None or ours.error is not None:
                continue
            try:
                peak, start, s.label = peak_rss_once(s.argv, opts.timeout)
                s.times.append(peak)
                s.starts.append(start)
            except (RuntimeError, OSError) as e:
                s.error = str(e)
                if s.label is None:
                    s.label = "pytorch"
    rows = report(bench, selected, ours, sides, ref_sides)
    for (ref, _), row in zip(selected, rows):  # What each process held before its setup.
        before = {"ours": round(statistics.median(ours.starts), 1) if ours.starts else None}
        for s in ref_sides.get(id(ref), []):
            if s.starts and s.label == row["reference"]["system"]:
                before["reference"] = round(statistics.median(s.starts), 1)
        row["rss_before_setup_mib"] = before
    return rows


def reference_entry(bench, ref, group):
    if ref["kind"] == "none":
        return {"system": "none", "value": None}, None
    measured = [s for s in group if s.error is None and s.times]
    if not measured:
        errors = "; ".join(sorted({s.error for s in group if s.error}))
        label = (group[0].label if group and group[0].label
                 else KIND_LABELS.get(ref["kind"], ref["kind"]))
        why = (f"failed: {errors}" if errors else "not measured: our side failed" if group
               else f"not measured: {UNAVAILABLE[ref['kind']]}" if ref["kind"] in UNAVAILABLE
               else "no reference worker of this kind")
        return {"system": f"{label} ({why})", "value": None}, None
    stats = [(s, summary(bench, s)) for s in measured]
    best_side, best = stats[0]
    for s, st in stats[1:]:
        if better(bench, st["value"], best["value"]):
            best_side, best = s, st
    entry = {"system": best_side.label, "value": best["value"], "runs": best["runs"],
             "spread": best["spread"]}
    others = [{"system": s.label, "value": st["value"], "runs": st["runs"]}
              for s, st in stats if s is not best_side]
    others += [{"system": s.label, "value": None, "runs": 0,
                "probe": value_of(bench, s.per_call_probe),
                "note": "slower on the probe call; not timed further"}
               for s in group if s.pruned]
    others += [{"system": s.label, "value": None, "error": s.error}
               for s in group if s.error is not None]
    if others:
        entry["alternatives"] = others
    return entry, best["value"]


# ---- output --------------------------------------------------------------------------------------

def significant(x, digits=6):
    if x is None or x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def rounded(row):
    out = dict(row)
    for k in ("ours", "ratio", "spread"):
        out[k] = significant(out.get(k), 4 if k != "ours" else 6)
    ref = dict(out["reference"])
    for k in ("value", "spread"):
        if k in ref:
            ref[k] = significant(ref[k], 4 if k == "spread" else 6)
    if "alternatives" in ref:
        ref["alternatives"] = [{k: significant(v) if k in ("value", "probe") else v
                                for k, v in a.items()} for a in ref["alternatives"]]
    out["reference"] = ref
    return out


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def print_table(rows, out=sys.stdout):
    head = ["benchmark", "unit", "ours", "reference", "ratio", "runs", "spread", "reference system"]
    body = []
    for r in rows:
        system = r["reference"]["system"]
        body.append([r["name"], r["unit"], fmt(r["ours"]) if r["ours"] is not None else "FAILED",
                     fmt(r["reference"]["value"]), fmt(r["ratio"]) + ("x" if r["ratio"] else ""),
                     str(r["runs"]),
                     f"{100 * r['spread']:.1f}%" if r["spread"] is not None else "-", system])
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head) - 1)]
    def line(cells):
        left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        right = [cells[i].rjust(widths[i]) for i in range(2, len(head) - 1)]
        return "  ".join(left + right + [cells[-1]])
    print(line(head), file=out)
    print("-" * (sum(widths) + 2 * (len(head) - 1) + len(head[-1])), file=out)
    for b in body:
        print(line(b), file=out)
    for r in rows:
        if r.get("error"):
            print(f"FAILED {r['name']}: {r['error']}", file=out)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# ---- ONNX models and ONNX Runtime ----------------------------------------------------------------
# The onnx.* benchmarks import BUILD/bench/onnx_models/MODEL.onnx (nx_bench), load the same file
# in ONNX Runtime (ort_ref.js) and run the same module in PyTorch (torch_fn_onnx.py). The files are
# generated here, before the run, by bench/refs/onnx_models.py (which skips up-to-date ones).

def onnx_model_of(bench_name):
    """onnx.resnet18_b16 -> resnet18; None for a benchmark that is not an ONNX model's."""
    m = re.fullmatch(r"onnx\.(.+)_b\d+", bench_name)
    return m.group(1) if m else None


def export_onnx_models(models, models_dir, opts):
    """Writes the models' .onnx files; a failure is printed, and the benchmarks that need a missing
    file then fail in their setup, naming it."""
    argv = [sys.executable, ONNX_MODELS, models_dir] + sorted(models)
    print(f"[bench] ONNX models in {models_dir} (exported if missing or stale) ...",
          file=sys.stderr, flush=True)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=opts.timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        print(f"[bench] onnx_models.py: no result within {opts.timeout:.0f} s", file=sys.stderr)
        return
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        print(f"[bench] onnx_models.py failed: {lines[-1]}", file=sys.stderr)


def ort_unavailable(node_modules):
    """Why ort_ref.js cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (Debian: apt-get install nodejs npm)"
    if not os.path.isfile(os.path.join(node_modules, "onnxruntime-node", "package.json")):
        return (f"onnxruntime-node is not installed in {node_modules} "
                f"(tests/axon/onnx/ort/install.sh BUILD; `make bench` does it)")
    return None


# ---- main ----------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description="Runs the nx benchmarks (bench/README.md).")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="CMake build directory (default build/): runs BUILD/bench/nx_bench, "
                         "writes BUILD/bench/results.json")
    ap.add_argument("--binary", help="nx_bench to run (default BUILD/bench/nx_bench)")
    ap.add_argument("--out", help="results file (default BUILD/bench/results.json)")
    ap.add_argument("--filter", default="", help="regex: run the result rows whose name matches")
    ap.add_argument("--list", action="store_true", help="print the result row names and exit")
    ap.add_argument("--min-runs", type=int, default=5, help="timed rounds at least (default 5)")
    ap.add_argument("--max-runs", type=int, default=25, help="timed rounds at most (default 25)")
    ap.add_argument("--budget", type=float, default=6.0,
                    help="seconds of timed rounds aimed at per benchmark (default 6)")
    ap.add_argument("--batch", type=float, default=0.05,
                    help="seconds one timed batch aims at; short calls are batched (default 0.05)")
    ap.add_argument("--slow", type=float, default=1.0,
                    help="calls longer than this get no extra warm-up, and a reference with "
                         "several configurations keeps only its fastest after the probe (1 s)")
    ap.add_argument("--too-slow", type=float, default=60.0,
                    help="calls longer than this are timed once instead of >= min-runs (60 s)")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="a setup or timed batch that takes longer is killed and reported as "
                         "failed (default 300 s)")
    ap.add_argument("--settle", type=float, default=0.01,
                    help="pause before each timed batch, in seconds (default 0.01)")
    opts = ap.parse_args()
    opts.binary = opts.binary or os.path.join(opts.build, "bench", "nx_bench")
    opts.out = opts.out or os.path.join(opts.build, "bench", "results.json")
    return opts


def main():
    opts = parse_args()
    if not os.access(opts.binary, os.X_OK):
        sys.exit(f"bench/run.py: {opts.binary} not found; build it with `make bench` "
                 "(or cmake --build build --target nx_bench)")
    models_dir = os.path.abspath(os.path.join(opts.build, "bench", "onnx_models"))
    env = dict(os.environ, AXON_BENCH_MODELS=models_dir)
    node_modules = os.path.abspath(os.path.join(opts.build, "ort", "node_modules"))
    ort_env = dict(env, NODE_PATH=node_modules)
    ours_worker = Worker("nx_bench", [opts.binary], env)
    ref_workers = {
        "torch": [Worker("torch_ref.py " + " ".join(c), [sys.executable, TORCH_REF] + c, env)
                  for c in TORCH_CONFIGS],
        "ort": [Worker("ort_ref.js " + " ".join(c), ["node", ORT_REF] + c, ort_env)
                for c in ORT_CONFIGS],
    }
    why = ort_unavailable(node_modules)
    if why:
        UNAVAILABLE["ort"] = why
    try:
        benches = [json.loads(line) for line in ours_worker.lines("list")]
        pattern = re.compile(opts.filter)
        plan = []
        for b in benches:
            selected = [(r, n) for r, n in result_rows(b) if pattern.search(n)]
            if selected:
                plan.append((b, selected))
        if opts.list:
            for b, selected in plan:
                for _, name in selected:
                    print(f"{name:32} {b['description']}")
            return 0
        if not plan:
            sys.exit(f"bench/run.py: no benchmark matches {opts.filter!r}")
        models = {onnx_model_of(b["name"]) for b, _ in plan} - {None}
        if models:
            export_onnx_models(models, models_dir, opts)

        rows, started = [], time.monotonic()
        for b, selected in plan:
            t0 = time.monotonic()
            print(f"[bench] {b['name']} ...", file=sys.stderr, flush=True)
            rows += run_benchmark(b, selected, ours_worker, ref_workers, opts)
            print(f"[bench] {b['name']} done in {time.monotonic() - t0:.1f} s", file=sys.stderr,
                  flush=True)

        result = {"machine": machine(), "results": [rounded(r) for r in rows]}
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print()
        print_table(result["results"])
        print(f"\n{len(rows)} results in {time.monotonic() - started:.0f} s -> "
              f"{os.path.relpath(opts.out)}")
        return 1 if any(r.get("error") for r in rows) else 0
    finally:
        ours_worker.close()
        for workers in ref_workers.values():
            for w in workers:
                w.close()


if __name__ == "__main__":
    sys.exit(main())
