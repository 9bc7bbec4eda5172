"""PyTorch twins of the training steps in bench/defn/steps.hpp and bench/defn/resnet18.hpp.

Same architectures, same initial values (ramps built exactly as the C++ side builds them), same
inputs and labels, same optimizers (torch.optim.Adam / SGD with the C++ side's settings). Used by
bench/refs/torch_ref.py (the step.* workloads) and tests/nx/defn/gen_step_reference.py (the losses
that tests/nx/defn/step_test.cpp checks).
"""

import time

import torch
import torch.nn.functional as F
from torch import nn


def ramp(shape, period, lo, hi):
    """f32 x[i] = lo + step * (i mod period), step = (hi - lo) / period, every operation in f32
    as bench/defn/steps.hpp does it (lo and hi may be f32 tensors)."""
    n = 1
    for d in shape:
        n *= d
    lo = torch.as_tensor(lo, dtype=torch.float32)
    hi = torch.as_tensor(hi, dtype=torch.float32)
    step = (hi - lo) / torch.tensor(float(period), dtype=torch.float32)
    k = (torch.arange(n, dtype=torch.int64) % period).to(torch.float32)
    return (lo + step * k).reshape(shape)


def scaled_ramp(shape, fan_in, period):
    """Values over +-1/sqrt(fan_in), as steps.hpp's scaled_ramp."""
    a = 1.0 / torch.sqrt(torch.tensor(float(fan_in), dtype=torch.float32))
    return ramp(shape, period, -a, a)


def set_dense(layer, kernel_shape, fan_in, period, bias_period):
    """nn.Linear from our [in, out] kernel (torch stores [out, in])."""
    with torch.no_grad():
        layer.weight.copy_(scaled_ramp(kernel_shape, fan_in, period).t())
        layer.bias.copy_(scaled_ramp((kernel_shape[1],), fan_in, bias_period))


def set_conv(layer, shape, fan_in, period, bias_period=None):
    with torch.no_grad():
        layer.weight.copy_(scaled_ramp(shape, fan_in, period))
        if bias_period is not None:
            layer.bias.copy_(scaled_ramp((shape[0],), fan_in, bias_period))


def cyclic_labels(n, classes):
    return torch.arange(n, dtype=torch.int64) % classes


# ---- models -------------------------------------------------------------------------------------

class Mlp(nn.Module):
    """784-128(relu)-10, initialised as steps.hpp's mlp_params."""

    def __init__(self):
        super().__init__()
        self.dense_0 = nn.Linear(784, 128)
        self.dense_1 = nn.Linear(128, 10)
        set_dense(self.dense_0, (784, 128), 784, 17, 11)
        set_dense(self.dense_1, (128, 10), 128, 13, 7)

    def forward(self, x):
        return self.dense_1(F.relu(self.dense_0(x)))


class Cnn(nn.Module):
    """conv3x3-32, pool2, conv3x3-64, pool2, dense 128, dense 10 (valid convolutions), as
    steps.hpp's cnn_params."""

    def __init__(self):
        super().__init__()
        self.conv_0 = nn.Conv2d(1, 32, 3)
        self.conv_1 = nn.Conv2d(32, 64, 3)
        self.dense_0 = nn.Linear(1600, 128)
        self.dense_1 = nn.Linear(128, 10)
        set_conv(self.conv_0, (32, 1, 3, 3), 9, 7, 5)
        set_conv(self.conv_1, (64, 32, 3, 3), 288, 17, 11)
        set_dense(self.dense_0, (1600, 128), 1600, 19, 13)
        set_dense(self.dense_1, (128, 10), 128, 13, 7)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv_0(x)), 2)
        h = F.max_pool2d(F.relu(self.conv_1(h)), 2)
        h = torch.flatten(h, 1)
        return self.dense_1(F.relu(self.dense_0(h)))


class Periods:
    """resnet18.hpp's Builder: each conv takes the next period of 9, 11, ..., 29, 7, 9, ..."""

    def __init__(self):
        self.period = 7

    def next(self):
        self.period = 7 if self.period >= 29 else self.period + 2
        return self.period


def make_conv(periods, cin, cout, k, stride, pad):
    conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
    set_conv(conv, (cout, cin, k, k), cin * k * k, periods.next())
    return conv


class BasicBlock(nn.Module):
    def __init__(self, periods, cin, cout, stride):
        super().__init__()
        self.conv1 = make_conv(periods, cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = make_conv(periods, cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(make_conv(periods, cin, cout, 1, stride, 0),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(h + skip)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout, initialised as resnet18.hpp's resnet18_init."""

    def __init__(self, width=64, classes=1000):
        super().__init__()
        periods = Periods()
        self.conv1 = make_conv(periods, 3, width, 7, 2, 3)
        self.bn1 = nn.BatchNorm2d(width)
        blocks, cin = [], width
        for stage in range(4):
            cout = width << stage
            blocks.append(BasicBlock(periods, cin, cout, 1 if stage == 0 else 2))
            blocks.append(BasicBlock(periods, cout, cout, 1))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(8 * width, classes)
        set_dense(self.fc, (8 * width, classes), 8 * width, 31, 23)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.max_pool2d(h, 3, 2, 1)
        h = self.blocks(h)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


# ---- steps --------------------------------------------------------------------------------------

def mlp_batch(n):
    return ramp((n, 784), 251, 0.0, 1.0), cyclic_labels(n, 10)


def cnn_batch(n):
    return ramp((n, 1, 28, 28), 251, 0.0, 1.0), cyclic_labels(n, 10)


def resnet18_batch(n, image=224, classes=1000):
    return ramp((n, 3, image, image), 251, -1.0, 1.0), cyclic_labels(n, classes)


class Trainer:
    """model + optimizer; step() is one training step and returns the loss."""

    def __init__(self, model, optimizer, x, labels):
        self.model, self.opt, self.x, self.labels = model.train(), optimizer, x, labels

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.x), self.labels)
        loss.backward()
        self.opt.step()
        return loss


def adam_trainer(model, batch, foreach=False):
    """torch.optim.Adam with its defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8)."""
    x, labels = batch
    return Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach), x,
                   labels)


def fastest_adam_trainer(make_model, batch, probe_steps=5):
    """Adam with foreach on or off, whichever runs this model faster here (torch 1.13 defaults
    to off on CPU). Both are probed on fresh models; the winner starts from the initial state."""
    best, best_time = None, None
    for foreach in (False, True):
        t = adam_trainer(make_model(), batch, foreach)
        t.step()
        start = time.perf_counter()
        for _ in range(probe_steps):
            t.step()
        seconds = time.perf_counter() - start
        if best_time is None or seconds < best_time:
            best, best_time = foreach, seconds
    return adam_trainer(make_model(), batch, best), best


def sgd_trainer(model, batch, lr=0.01):
    x, labels = batch
    return Trainer(model, torch.optim.SGD(model.parameters(), lr=lr), x, labels)
