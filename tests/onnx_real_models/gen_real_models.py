#!/usr/bin/python3
"""Exports the real-model checks of onnx_real_models (docs/axon-onnx.md, "Real models").

Usage: gen_real_models.py OUTDIR

For each model: torch.manual_seed(0), random weights, eval(), torch.onnx.export into
OUTDIR/<name>.onnx with a dynamic batch axis (and a dynamic sequence axis for the recurrent
models), and OUTDIR/<name>.npz holding the inputs and torch's outputs of each case:
"case<k>_in<i>" and "case<k>_out<j>" (k: 0 is the exported shape, 1 another batch size or
sequence length; i and j in the ONNX graph's input and output order).

Needs Debian's python3-torch and python3-torchvision (torch 1.13, torchvision 0.14). Exits
non-zero with a message naming the missing module, so a CI without them fails rather than skips.
A stamp file (torch and torchvision versions plus this script's hash) skips a rerun.
"""
import hashlib
import os
import sys
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torchvision
    from torchvision import models
    from torchvision.models.vision_transformer import VisionTransformer
except ImportError as e:
    sys.exit(f"gen_real_models.py: {e}; install python3-torch and python3-torchvision "
             "(the Makefile's DEPS) or set AXON_ONNX_PYTHON to a python that has them")

IMAGE = 64  # small images keep CI fast; every classifier below accepts 64x64


class TokenLstm(nn.Module):
    """Embedding over int64 token ids, a 2-layer bidirectional LSTM, a Linear head per step."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.lstm = nn.LSTM(32, 48, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(96, 10)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


class TokenGru(nn.Module):
    """Embedding, a 2-layer GRU, a Linear head on the last step and the final hidden state."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 24)
        self.gru = nn.GRU(24, 40, num_layers=2, batch_first=True)
        self.head = nn.Linear(40, 5)

    def forward(self, tokens):
        out, h = self.gru(self.embed(tokens))
        return self.head(out[:, -1]), h


def encoder(norm_first, activation):
    layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                       activation=activation, batch_first=True,
                                       norm_first=norm_first)
    return nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)


def randomize_batch_norm(model):
    """Non-trivial running statistics and affine parameters, so folding them is checked."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
                m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.1)


def calibrate_batch_norm(model):
    """Running statistics measured on a random batch (train mode, cumulative average), as a
    trained network has: with the default 0/1 statistics and random weights the activations of
    most of these deep networks vanish, leaving outputs that hardly depend on the input."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 3, IMAGE, IMAGE))


def image(batch):
    return [torch.randn(batch, 3, IMAGE, IMAGE)]


def tokens(vocab, batch, steps):
    return [torch.randint(0, vocab, (batch, steps), dtype=torch.int64)]


# name -> (constructor, opset, cases: a function giving one input list per case (drawn after the
# seed), dynamic axes of the input)
BATCH = {0: "batch"}
SEQ = {0: "batch", 1: "steps"}
MODELS = {
    "resnet18": (lambda: models.resnet18(), 17, lambda: [image(2), image(3)], BATCH),
    "mobilenet_v2": (lambda: models.mobilenet_v2(), 17, lambda: [image(2), image(1)], BATCH),
    "mobilenet_v3_small": (lambda: models.mobilenet_v3_small(), 17, lambda: [image(2)], BATCH),
    "squeezenet1_1": (lambda: models.squeezenet1_1(), 14, lambda: [image(2)], BATCH),
    "shufflenet_v2_x0_5": (lambda: models.shufflenet_v2_x0_5(), 17, lambda: [image(2)], BATCH),
    "efficientnet_b0": (lambda: models.efficientnet_b0(), 17, lambda: [image(2)], BATCH),
    "densenet121": (lambda: models.densenet121(), 17, lambda: [image(2)], BATCH),
    "googlenet": (lambda: models.googlenet(aux_logits=False, init_weights=True), 17,
                  lambda: [image(2)], BATCH),
    "mnasnet0_5": (lambda: models.mnasnet0_5(), 17, lambda: [image(2)], BATCH),
    "regnet_y_400mf": (lambda: models.regnet_y_400mf(), 17, lambda: [image(2)], BATCH),
    "vit_tiny": (lambda: VisionTransformer(image_size=IMAGE, patch_size=16, num_layers=2,
                                           num_heads=4, hidden_dim=64, mlp_dim=128,
                                           num_classes=10),
                 17, lambda: [image(2), image(3)], BATCH),
    "transformer_post_norm": (lambda: encoder(False, "relu"), 17,
                              lambda: [[torch.randn(2, 10, 64)], [torch.randn(3, 10, 64)]], BATCH),
    "transformer_pre_norm_gelu": (lambda: encoder(True, "gelu"), 14,
                                  lambda: [[torch.randn(2, 10, 64)]], BATCH),
    "lstm_tokens": (TokenLstm, 14, None, SEQ),
    "gru_tokens": (TokenGru, 17, None, SEQ),
}


# In eval mode the exporter folds BatchNormalization into the Conv before it; these models keep
# it as BatchNormalization nodes (PRESERVE exports the module's mode, eval), so the importer's
# own handling of random running statistics is checked.
KEEP_BATCH_NORM = {"resnet18"}
EVAL, PRESERVE = torch.onnx.TrainingMode.EVAL, torch.onnx.TrainingMode.PRESERVE


def stamp_text():
    with open(__file__, "rb") as f:
        script = hashlib.sha256(f.read()).hexdigest()
    return f"torch {torch.__version__} torchvision {torchvision.__version__} {script}\n"


def read_text(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def export(name, out_dir):
    make, opset, cases, axes = MODELS[name]
    torch.manual_seed(0)
    model = make()
    if name == "resnet18":
        randomize_batch_norm(model)
    elif isinstance(model, VisionTransformer):
        model.heads.head.reset_parameters()  # torchvision zero-initialises the head
    elif any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        calibrate_batch_norm(model)
    model.eval()
    if cases is None:  # recurrent models: another batch size and sequence length
        vocab = model.embed.num_embeddings
        cases = [tokens(vocab, 2, 7), tokens(vocab, 3, 11)]
    else:
        cases = cases()
    input_names = ["tokens"] if axes is SEQ else ["x"]
    with torch.no_grad():
        outputs = [model(*c) for c in cases]
    outputs = [list(o) if isinstance(o, tuple) else [o] for o in outputs]
    output_names = [f"y{j}" for j in range(len(outputs[0]))]
    dynamic = {n: axes for n in input_names}
    dynamic.update({n: {0: "batch"} for n in output_names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(cases[0]), os.path.join(out_dir, name + ".onnx"),
                          opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic,
                          training=PRESERVE if name in KEEP_BATCH_NORM else EVAL)
    arrays = {}
    for k, (ins, outs) in enumerate(zip(cases, outputs)):
        for i, t in enumerate(ins):
            arrays[f"case{k}_in{i}"] = t.numpy()
        for j, t in enumerate(outs):
            arrays[f"case{k}_out{j}"] = t.detach().numpy()
    np.savez(os.path.join(out_dir, name + ".npz"), **arrays)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_real_models.py OUTDIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    stamp = os.path.join(out_dir, "stamp.txt")
    if read_text(stamp) == stamp_text() and all(
            os.path.exists(os.path.join(out_dir, n + ".npz")) for n in MODELS):
        print(f"{out_dir}: up to date")
        return
    torch.set_num_threads(1)
    for name in MODELS:
        export(name, out_dir)
        print(f"exported {name}", flush=True)
    with open(stamp, "w") as f:
        f.write(stamp_text())


if __name__ == "__main__":
    main()
