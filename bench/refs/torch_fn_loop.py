"""PyTorch twins of bench/axon/loop_bench.cpp (loaded by torch_ref.py).

loop.cnn_fashion_epoch: one epoch (469 batches of 128) of the Fashion-MNIST CNN
(conv32-pool-conv64-pool-dense128-dropout0.3-dense10) trained with torch.optim.Adam (lr 1e-3;
foreach on or off, whichever is faster here, probed at setup), in NCHW (torch's native layout),
over the same batches as the C++ side, held in memory as float tensors. Where Debian's
dataset-fashion-mnist is not installed, the same synthetic data as the C++ side: ramp images and
cyclic labels.
"""

import gzip
import os
import time

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
TRAIN = 60000
BATCH = 128


def read_idx(path):
    """An IDX file (gzipped) as a numpy array: magic 00 00 08 <rank>, big-endian u32 dims, u8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert data[0] == 0 and data[1] == 0 and data[2] == 8, path
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def register(torch, ramp):
    from torch import nn
    import torch.nn.functional as F

    def epoch_batches():
        images = os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")
        if os.path.exists(images):
            x = torch.from_numpy(read_idx(images).astype(np.float32) / np.float32(255.0))
            y = torch.from_numpy(
                read_idx(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz")).astype(np.int64))
        else:
            x = ramp((TRAIN, 28, 28), 251, 0.0, 1.0)
            y = torch.arange(TRAIN, dtype=torch.int64) % 10
        x = x.reshape(-1, 1, 28, 28).contiguous()
        return [(x[i:i + BATCH].contiguous(), y[i:i + BATCH].contiguous())
                for i in range(0, x.shape[0], BATCH)]

    def make_model():
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(128, 10)).train()

    def train(model, opt, batches):
        running = 0.0
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            running += loss.item()  # the running loss, as the C++ Loop keeps it
        return running

    def cnn_fashion_epoch():
        torch.manual_seed(0)
        batches = epoch_batches()
        best, best_time = None, None
        for foreach in (False, True):
            model = make_model()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach)
            train(model, opt, batches[:3])
            start = time.perf_counter()
            train(model, opt, batches[3:23])
            seconds = time.perf_counter() - start
            if best_time is None or seconds < best_time:
                best, best_time = foreach, seconds
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=best)

        def run(reps):
            start = time.perf_counter()
            for _ in range(reps):
                train(model, opt, batches)
            return time.perf_counter() - start
        return run

    return {"loop.cnn_fashion_epoch": cnn_fashion_epoch}
