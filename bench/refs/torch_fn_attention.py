"""PyTorch workloads for bench/axon/fn_attention_bench.cpp (loaded by torch_ref.py)."""

import math
import time


def register(torch, ramp):
    B, T, D, H = 8, 128, 256, 8

    def mha_fwd_bwd():
        a = 1.0 / math.sqrt(D)
        x = ramp((B, T, D), 251, -1.0, 1.0).requires_grad_(True)
        ct = ramp((B, T, D), 89, -1.0, 1.0)
        w = {n: ramp((D, D), 97 + 2 * i, -a, a) for i, n in enumerate(("q", "k", "v", "o"))}
        b = {n: ramp((D,), 31 + 2 * i, -a, a) for i, n in enumerate(("q", "k", "v", "o"))}
        mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
        with torch.no_grad():
            # Our kernels are {in, out}: torch's weights are their transposes.
            mha.in_proj_weight.copy_(torch.cat([w["q"].t(), w["k"].t(), w["v"].t()]))
            mha.in_proj_bias.copy_(torch.cat([b["q"], b["k"], b["v"]]))
            mha.out_proj.weight.copy_(w["o"].t())
            mha.out_proj.bias.copy_(b["o"])
        wrt = [x] + list(mha.parameters())
        grad = torch.autograd.grad

        def run(reps):
            out = None
            start = time.perf_counter()
            for _ in range(reps):
                y = mha(x, x, x, need_weights=False)[0]
                out = grad(y, wrt, ct)
            seconds = time.perf_counter() - start
            del out
            return seconds
        return run

    return {"fn.mha_fwd_bwd": mha_fwd_bwd}
