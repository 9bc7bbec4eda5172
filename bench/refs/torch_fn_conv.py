"""PyTorch side of bench/axon/fn_conv_bench.cpp: the 11 distinct convolution shapes of ResNet-18
at batch 16, each once per call as F.conv2d forward plus torch.autograd.grad with respect to the
input and the weight from a fixed cotangent, on the same ramps as the C++ side.

fn.conv2d_fwd_bwd_resnet uses NCHW tensors; fn.conv2d_fwd_bwd_resnet_nhwc the same tensors in
torch.channels_last memory format (torch's NHWC path), as the C++ side's channels-last variant.
"""

N = 16
# (C, O, H, k, stride, pad), in fn_conv_bench.cpp's order.
SHAPES = [
    (3, 64, 224, 7, 2, 3), (64, 64, 56, 3, 1, 1), (64, 128, 56, 3, 2, 1),
    (64, 128, 56, 1, 2, 0), (128, 128, 28, 3, 1, 1), (128, 256, 28, 3, 2, 1),
    (128, 256, 28, 1, 2, 0), (256, 256, 14, 3, 1, 1), (256, 512, 14, 3, 2, 1),
    (256, 512, 14, 1, 2, 0), (512, 512, 7, 3, 1, 1),
]


def register(torch, ramp):
    import time

    conv2d = torch.nn.functional.conv2d
    grad = torch.autograd.grad

    def setup_for(channels_last):
        def setup():
            problems = []
            for i, (c, o, hw, k, s, p) in enumerate(SHAPES):
                out = (hw + 2 * p - k) // s + 1
                x = ramp((N, c, hw, hw), 17 + i, -1.0, 1.0)
                w = ramp((o, c, k, k), 13 + i, -0.1, 0.1)
                ct = ramp((N, o, out, out), 11 + i, -1.0, 1.0)
                if channels_last:
                    fmt = torch.channels_last
                    x, w, ct = (t.contiguous(memory_format=fmt) for t in (x, w, ct))
                problems.append((x.requires_grad_(True), w.requires_grad_(True), ct, s, p))

            def run(reps):
                results = [None] * len(problems)
                start = time.perf_counter()
                for _ in range(reps):
                    for i, (x, w, ct, s, p) in enumerate(problems):
                        y = conv2d(x, w, None, s, p)
                        gx, gw = grad(y, (x, w), ct)
                        results[i] = (y, gx, gw)
                seconds = time.perf_counter() - start
                del results
                return seconds
            return run
        return setup

    return {
        "fn.conv2d_fwd_bwd_resnet": setup_for(False),
        "fn.conv2d_fwd_bwd_resnet_nhwc": setup_for(True),
    }
