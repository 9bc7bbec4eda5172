"""PyTorch twins of bench/axon/onnx_bench.cpp (loaded by torch_ref.py): the modules that
onnx_models.py exports, built by the same builders (torch.manual_seed(0), eval()), run eagerly
under torch.no_grad() on the same ramp input. For the transformer that is whatever torch runs in
eval under no_grad (torch 1.13: its fused inference path)."""

import time

import onnx_models


def register(torch, ramp):
    def infer(model, batch):
        def setup():
            module = onnx_models.build(torch, model)
            x = ramp(onnx_models.input_shape(model, batch), 251, -1.0, 1.0)

            def run(reps):
                out = None
                with torch.no_grad():
                    start = time.perf_counter()
                    for _ in range(reps):
                        out = module(x)
                    seconds = time.perf_counter() - start
                del out
                return seconds
            return run
        return setup

    return {"onnx.resnet18_b1": infer("resnet18", 1),
            "onnx.resnet18_b16": infer("resnet18", 16),
            "onnx.mobilenet_v2_b1": infer("mobilenet_v2", 1),
            "onnx.transformer_encoder_b2": infer("transformer_encoder", 2)}
