"""PyTorch references of bench/axon/fn_norm_bench.cpp (loaded by torch_ref.py).

fn.batch_norm_fwd_bwd: F.batch_norm(training=True) on f32 [32, 64, 56, 56] (NCHW) with
running buffers updated in place, then backward(ct) for the gradients of x, gamma and beta.
fn.batch_norm_fwd_bwd_channels_last: the same on [32, 56, 56, 64] data, given to torch as the
NCHW view of a channels-last tensor (torch.channels_last memory format), its native NHWC path.
"""


def register(torch, ramp):
    F = torch.nn.functional
    n, c, s = 32, 64, 56

    def setup(channels_last):
        def make():
            shape = (n, s, s, c) if channels_last else (n, c, s, s)
            x = ramp(shape, 1009, -2.0, 3.0)
            ct = ramp(shape, 997, -1.0, 1.0)
            if channels_last:
                # The same NHWC bytes, seen by torch as NCHW in channels_last memory format.
                x = x.permute(0, 3, 1, 2)
                ct = ct.permute(0, 3, 1, 2)
            x.requires_grad_(True)
            gamma = ramp((c,), 7, 0.5, 1.5).requires_grad_(True)
            beta = ramp((c,), 5, -0.5, 0.5).requires_grad_(True)
            mean = ramp((c,), 11, -0.1, 0.1)
            var = ramp((c,), 13, 0.9, 1.1)

            def run(reps):
                import time
                start = time.perf_counter()
                for _ in range(reps):
                    x.grad = gamma.grad = beta.grad = None
                    out = F.batch_norm(x, mean, var, gamma, beta, training=True, momentum=0.1,
                                       eps=1e-5)
                    out.backward(ct)
                seconds = time.perf_counter() - start
                return seconds
            return run
        return make

    return {"fn.batch_norm_fwd_bwd": setup(False),
            "fn.batch_norm_fwd_bwd_channels_last": setup(True)}
