#!/usr/bin/python3
"""The ONNX models of the onnx.* benchmarks, built deterministically and exported for both sides.

    /usr/bin/python3 bench/refs/onnx_models.py OUTDIR [NAME ...]

Each model is built from torch.manual_seed(0) (random weights, eval()), so that the file that
nx_bench imports and ONNX Runtime loads (OUTDIR/NAME.onnx) and the module that PyTorch runs
eagerly (bench/refs/torch_fn_onnx.py) hold the same weights:

    resnet18               torchvision.models.resnet18(), input N x 3 x 224 x 224
    mobilenet_v2           torchvision.models.mobilenet_v2(), input N x 3 x 224 x 224
    transformer_encoder    nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=512, nhead=8,
                           dim_feedforward=2048, batch_first=True), num_layers=6) with each
                           layer's matrices redrawn (see transformer_encoder()), input N x 128 x 512

export(outdir) writes NAME.onnx with torch.onnx.export (opset 17, input "input", output "output",
dynamic batch axis) and NAME.onnx.version beside it; a file whose version stamp matches
GENERATOR_VERSION (and the torch version) is left alone. Run with /usr/bin/python3 (Debian's
python3-torch and python3-torchvision).
"""

import os
import sys

# Bump when a builder or the export settings change: existing files are then regenerated.
GENERATOR_VERSION = "1"
OPSET = 17


def resnet18(torch):
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.resnet18().eval()


def mobilenet_v2(torch):
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2().eval()


def transformer_encoder(torch):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=512, nhead=8, dim_feedforward=2048,
                                             batch_first=True)
    model = torch.nn.TransformerEncoder(layer, num_layers=6)
    # TransformerEncoder deep-copies `layer`, so its 6 layers would hold identical weights, which
    # the ONNX exporter stores once: 12 MB of weights that stay in cache instead of 75 MB, unlike
    # any trained model. Each layer's matrices get their own draw, in module order (LayerNorm
    # and the attention biases start as ones and zeros in every layer anyway).
    for m in model.modules():
        if isinstance(m, torch.nn.MultiheadAttention):
            m.out_proj.reset_parameters()
            m._reset_parameters()  # in_proj (xavier) and zero biases, as at construction
        elif type(m) is torch.nn.Linear:
            m.reset_parameters()
    return model.eval()


# name -> (builder, input shape without the batch dimension)
MODELS = {
    "resnet18": (resnet18, (3, 224, 224)),
    "mobilenet_v2": (mobilenet_v2, (3, 224, 224)),
    "transformer_encoder": (transformer_encoder, (128, 512)),
}


def build(torch, name):
    """The eval() module NAME, weights from torch.manual_seed(0)."""
    if name not in MODELS:
        raise KeyError(f"onnx_models: unknown model {name} (known: {', '.join(MODELS)})")
    return MODELS[name][0](torch)


def input_shape(name, batch):
    return (batch,) + MODELS[name][1]


def stamp(torch):
    return f"{GENERATOR_VERSION} torch {torch.__version__}\n"


def export(outdir, names=None, log=sys.stderr):
    """Writes OUTDIR/NAME.onnx for every model (or those in `names`) whose file is missing or was
    made by another generator version. Returns the paths."""
    import torch
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name in names or MODELS:
        path = os.path.join(outdir, name + ".onnx")
        version_path = path + ".version"
        paths.append(path)
        try:
            with open(version_path) as f:
                if os.path.exists(path) and f.read() == stamp(torch):
                    continue
        except OSError:
            pass
        print(f"onnx_models: exporting {name} -> {path}", file=log, flush=True)
        model = build(torch, name)
        # The values do not matter to the export (only the shapes do); batch 2 rather than 1
        # so that the tracer cannot specialise the batch dimension away.
        x = torch.zeros(input_shape(name, 2))
        tmp = path + ".tmp"
        dynamic = {"input": {0: "batch"}, "output": {0: "batch"}}
        # Not under no_grad: parameters that require grad keep nn.TransformerEncoderLayer off
        # its fused inference path (aten::_transformer_encoder_layer_fwd), which has no ONNX
        # export; the traced graph is the layer's plain composition of ops.
        torch.onnx.export(model, (x,), tmp, opset_version=OPSET, input_names=["input"],
                          output_names=["output"], dynamic_axes=dynamic, do_constant_folding=True)
        os.replace(tmp, path)
        with open(version_path, "w") as f:
            f.write(stamp(torch))
    return paths


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    for p in export(sys.argv[1], sys.argv[2:] or None):
        print(p)
