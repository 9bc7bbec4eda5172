"""PyTorch twins of bench/axon/model_bench.cpp (loaded by torch_ref.py)."""

import time


def register(torch, ramp):
    def predict_overhead():
        model = torch.nn.Linear(4, 4)
        x = ramp((1, 4), 4, -1.0, 1.0)

        def run(reps):
            out = None
            with torch.no_grad():
                start = time.perf_counter()
                for _ in range(reps):
                    out = model(x)
                seconds = time.perf_counter() - start
            del out
            return seconds
        return run

    def resnet18_infer(batch):
        def setup():
            import torch_steps
            model = torch_steps.ResNet18().eval()
            x = torch_steps.resnet18_batch(batch)[0]

            def run(reps):
                out = None
                with torch.no_grad():
                    start = time.perf_counter()
                    for _ in range(reps):
                        out = model(x)
                    seconds = time.perf_counter() - start
                del out
                return seconds
            return run
        return setup

    return {"model.predict_overhead": predict_overhead,
            "model.resnet18_infer_b1": resnet18_infer(1),
            "model.resnet18_infer_b16": resnet18_infer(16)}
