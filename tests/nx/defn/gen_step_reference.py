#!/usr/bin/python3
"""Prints the PyTorch values that tests/nx/defn/step_test.cpp checks (kTorch*): the losses of
three Adam steps of the MLP (batch 128) and the CNN (batch 8) of bench/defn/steps.hpp, built by
bench/refs/torch_steps.py, and the output layer's bias after them (Adam moves every weight by
about lr per step, so the bias checks the update). Run with /usr/bin/python3 (Debian's
python3-torch); float32, one thread, so the values are reproducible.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "bench", "refs"))

import torch  # noqa: E402
import torch_steps as ts  # noqa: E402


def run(trainer, steps=3):
    """The losses of `steps` steps and the output layer's bias after them."""
    losses = [trainer.step().item() for _ in range(steps)]
    return losses, trainer.model.dense_1.bias.detach().tolist()


def main():
    torch.set_num_threads(1)
    fmt = lambda xs: ", ".join(repr(x) for x in xs)  # noqa: E731
    for name, model, batch in (("Mlp", ts.Mlp(), ts.mlp_batch(128)),
                               ("Cnn", ts.Cnn(), ts.cnn_batch(8))):
        losses, bias = run(ts.adam_trainer(model, batch))
        print(f"constexpr double kTorch{name}Losses[] = {{{fmt(losses)}}};")
        print(f"constexpr double kTorch{name}Bias[] = {{{fmt(bias)}}};")


if __name__ == "__main__":
    main()
