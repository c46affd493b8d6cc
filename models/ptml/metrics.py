"""Test-split metrics of a classifier's probabilities: accuracy, macro F1, log loss, and what the ML gate
would do with them (how often a direction clears a confidence, and how often it was then right)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss

DOWN, FLAT, UP = 0, 1, 2


def classification(y: np.ndarray, proba: np.ndarray) -> dict:
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    return {
        "samples": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macroF1": float(f1_score(y, pred, average="macro", labels=[0, 1, 2], zero_division=0)),
        "logLoss": float(log_loss(y, proba, labels=[0, 1, 2])),
    }


def gate(y: np.ndarray, proba: np.ndarray, thresholds=(0.4, 0.5, 0.6, 0.7)) -> list[dict]:
    """For each confidence c: the share of samples where p(up) >= c or p(down) >= c (an entry the gate
    lets through, whichever the signal), and the share of those whose label was that direction."""
    out = []
    for c in thresholds:
        up = proba[:, UP] >= c
        down = (proba[:, DOWN] >= c) & ~up
        n = int(up.sum() + down.sum())
        hits = int((y[up] == UP).sum() + (y[down] == DOWN).sum())
        out.append({"minConfidence": c, "passes": n, "share": n / len(y) if len(y) else 0.0,
                    "precision": hits / n if n else None})
    return out


def majority_proba(y_train: np.ndarray, n: int) -> np.ndarray:
    """The majority-class baseline's probabilities: the training split's class frequencies, every time."""
    freq = np.bincount(y_train, minlength=3).astype(np.float64) / len(y_train)
    return np.tile(freq, (n, 1))
