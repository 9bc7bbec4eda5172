#!/usr/bin/python3
"""Reference data for tests/axon/fn/metrics_test.cpp: writes metrics.npz next to this script.

Run with /usr/bin/python3 (numpy). Deterministic.

NumPy transcriptions of Axon.Metrics (lib/axon/metrics.ex), evaluated on small inputs with
ties and values on the thresholds. For each case <name> the file holds <name>_true, <name>_pred
and one member per expected result (<name>_<metric>, float64 or int64 scalars).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261121)
arrays = {}


def accuracy(y_true, y_pred, from_logits=False, sparse=False):
    if y_pred.shape[-1] == 1:
        p = 1 / (1 + np.exp(-y_pred.astype(np.float64))) if from_logits else y_pred
        return np.mean((p > 0.5).astype(np.uint8) == y_true)
    labels = y_true.reshape(y_pred.shape[:-1]) if sparse else np.argmax(y_true, axis=-1)
    return np.mean(labels == np.argmax(y_pred, axis=-1))


def counts(y_true, y_pred, threshold=0.5):
    pos = y_pred > threshold
    tp = np.sum(pos & (pos == y_true))
    fp = np.sum(pos & (pos != y_true))
    tn = np.sum(~pos & (pos == y_true))
    fn = np.sum(~pos & (pos != y_true))
    return tp, fp, tn, fn


def top_k(y_true, y_pred, k=5, sparse=False):
    labels = y_true.reshape(y_pred.shape[:-1] + (1,)) if sparse else \
        np.argmax(y_true, axis=-1)[..., None]
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]  # ties: lower index first
    return np.mean(np.any(top == labels, axis=-1))


def f32(a):
    return np.asarray(a, dtype=np.float32)


# Accuracy.
b_true = f32([[1], [0], [0], [1], [1], [0], [1], [0]])
b_prob = f32([[0.9], [0.2], [0.5], [0.5], [0.51], [0.7], [0.1], [0.49]])
arrays["binary_true"], arrays["binary_pred"] = b_true, b_prob
arrays["binary_accuracy"] = accuracy(b_true, b_prob)
b_logit = f32([[2.0], [-1.0], [0.0], [0.0], [1e-3], [3.0], [-2.0], [-1e-3]])
arrays["logits_true"], arrays["logits_pred"] = b_true, b_logit
arrays["logits_accuracy"] = accuracy(b_true, b_logit, from_logits=True)

c_labels = np.array([0, 2, 1, 3, 3, 0, 1, 2, 2, 1], dtype=np.int64)
c_true = f32(np.eye(4)[c_labels])
c_pred = f32(rng.random((10, 4)))
c_pred[0] = [0.4, 0.4, 0.1, 0.1]   # tie, first max is the label
c_pred[1] = [0.3, 0.1, 0.3, 0.3]   # tie, first max is not the label
c_pred[2] = [0.25, 0.25, 0.25, 0.25]
arrays["multi_true"], arrays["multi_pred"] = c_true, c_pred
arrays["multi_accuracy"] = accuracy(c_true, c_pred)
arrays["sparse_true"], arrays["sparse_pred"] = c_labels, c_pred
arrays["sparse_accuracy"] = accuracy(c_labels, c_pred, sparse=True)
arrays["sparse1_true"], arrays["sparse1_pred"] = c_labels.reshape(10, 1), c_pred
arrays["sparse1_accuracy"] = accuracy(c_labels.reshape(10, 1), c_pred, sparse=True)
r3_labels = rng.integers(0, 5, size=(2, 3))
r3_true = f32(np.eye(5)[r3_labels])
r3_pred = f32(rng.random((2, 3, 5)))
arrays["rank3_true"], arrays["rank3_pred"] = r3_true, r3_pred
arrays["rank3_accuracy"] = accuracy(r3_true, r3_pred)

# Threshold metrics, on a vector and a matrix, at several thresholds.
t_true = f32([1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1])
t_pred = f32([0.8, 0.6, 0.4, 0.2, 0.8, 0.5, 0.5, 0.3, 0.7, 0.1, 0.71, 0.3])
for name, yt, yp in [("thr", t_true, t_pred), ("thr2d", t_true.reshape(3, 4), t_pred.reshape(3, 4))]:
    arrays[f"{name}_true"], arrays[f"{name}_pred"] = yt, yp
    for tag, th in [("", 0.5), ("_t03", 0.3), ("_t07", 0.7)]:
        tp, fp, tn, fn = counts(yt, yp, th)
        arrays[f"{name}_tp{tag}"] = np.int64(tp)
        arrays[f"{name}_fp{tag}"] = np.int64(fp)
        arrays[f"{name}_tn{tag}"] = np.int64(tn)
        arrays[f"{name}_fn{tag}"] = np.int64(fn)
        arrays[f"{name}_precision{tag}"] = tp / (tp + fp + 1e-16)
        arrays[f"{name}_recall{tag}"] = tp / (tp + fn + 1e-16)
        arrays[f"{name}_specificity{tag}"] = tn / (tn + fp + 1e-16)
# No predicted positives: precision 0 (not NaN).
arrays["nopos_true"], arrays["nopos_pred"] = f32([1, 0, 1]), f32([0.1, 0.2, 0.3])
arrays["nopos_precision"] = 0.0

# Mean absolute error.
m_true, m_pred = f32(rng.normal(size=(3, 4))), f32(rng.normal(size=(3, 4)))
arrays["mae_true"], arrays["mae_pred"] = m_true, m_pred
arrays["mae_mean_absolute_error"] = np.mean(np.abs(m_true.astype(np.float64) - m_pred))

# Top-k accuracy.
k_labels = np.array([0, 5, 2, 3, 1, 4, 2, 0], dtype=np.int64)
k_true = f32(np.eye(6)[k_labels])
k_pred = f32(rng.random((8, 6)))
k_pred[0] = [0.2, 0.2, 0.2, 0.1, 0.0, 0.3]  # ties around the label
k_pred[1] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # all tied: label 5 ranks last
arrays["topk_true"], arrays["topk_pred"] = k_true, k_pred
arrays["topk_sparse_true"], arrays["topk_sparse_pred"] = k_labels.reshape(8, 1), k_pred
for k in (1, 2, 3, 5, 6):
    arrays[f"topk_k{k}"] = top_k(k_true, k_pred, k)
    arrays[f"topk_sparse_k{k}"] = top_k(k_labels, k_pred, k, sparse=True)
v_true, v_pred = f32([0, 1, 0, 0, 0]), f32([0.1, 0.4, 0.3, 0.7, 0.1])
arrays["topk1d_true"], arrays["topk1d_pred"] = v_true, v_pred
arrays["topk1d_k1"] = top_k(v_true, v_pred, 1)
arrays["topk1d_k2"] = top_k(v_true, v_pred, 2)

np.savez_compressed(os.path.join(HERE, "metrics.npz"), **arrays)
print(f"wrote {len(arrays)} arrays")
