"""PyTorch side of bench/axon/fn_rnn_bench.cpp: fn.lstm_fwd_bwd.

torch.nn.LSTM(256, 256, batch_first=True) over x {32, 50, 256} from a zero initial state, forward
plus torch.autograd.grad of sum(output * ct) with respect to the input and all four parameters
(weight_ih {1024, 256}, weight_hh {1024, 256}, bias_ih, bias_hh), on the same ramps as the C++
side (which uses the same numbers in Axon's layout: kernels transposed and split per gate, one
summed bias).
"""

B, T, F, U = 32, 50, 256, 256


def register(torch, ramp):
    import time

    grad = torch.autograd.grad

    def setup():
        lstm = torch.nn.LSTM(F, U, batch_first=True)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(ramp((4 * U, F), 101, -0.05, 0.05))
            lstm.weight_hh_l0.copy_(ramp((4 * U, U), 103, -0.05, 0.05))
            lstm.bias_ih_l0.copy_(ramp((4 * U,), 107, -0.05, 0.05))
            lstm.bias_hh_l0.zero_()
        x = ramp((B, T, F), 17, -1.0, 1.0).requires_grad_(True)
        ct = ramp((B, T, U), 19, -1.0, 1.0)
        wrt = [x] + list(lstm.parameters())

        def run(reps):
            result = None
            start = time.perf_counter()
            for _ in range(reps):
                out, _ = lstm(x)
                result = grad(out, wrt, ct)
            seconds = time.perf_counter() - start
            del result
            return seconds
        return run

    return {"fn.lstm_fwd_bwd": setup}
