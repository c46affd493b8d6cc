"""Reading a `papertape dataset` directory (X/y/t .npy + meta.json) and building sequence windows."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ["down", "flat", "up"]


@dataclass
class Split:
    X: np.ndarray  # float32 (n, 36), schema order, NaN = not defined
    y: np.ndarray  # int64 (n,), 0 down / 1 flat / 2 up
    t: np.ndarray  # int64 (n,), ns since the epoch


@dataclass
class Dataset:
    path: str
    meta: dict
    train: Split
    val: Split
    test: Split

    @property
    def names(self) -> list[str]:
        return list(self.meta["featureSchema"]["names"])

    @property
    def schema_version(self) -> str:
        return str(self.meta["featureSchema"]["version"])


def load_dataset(path: str) -> Dataset:
    with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != "papertape-dataset":
        raise ValueError(f"{path}: not a papertape dataset (meta.json format {meta.get('format')!r})")
    splits = {}
    for s in ("train", "val", "test"):
        X = np.load(os.path.join(path, f"X_{s}.npy")).astype(np.float32, copy=False)
        y = np.load(os.path.join(path, f"y_{s}.npy")).astype(np.int64)
        t = np.load(os.path.join(path, f"t_{s}.npy")).astype(np.int64)
        if X.shape[1] != len(meta["featureSchema"]["names"]):
            raise ValueError(f"{path}: X_{s} has {X.shape[1]} columns, meta.json names {len(meta['featureSchema']['names'])}")
        splits[s] = Split(X, y, t)
    return Dataset(path, meta, splits["train"], splits["val"], splits["test"])


def used_columns(ds: Dataset) -> tuple[list[int], list[dict]]:
    """Columns a model reads: every column that is not NaN throughout the training split.

    An all-NaN column (the USD-M futures features on recordings without futures streams) carries nothing;
    it is left out and listed with the reason (docs/features.md, "NaN")."""
    used, left_out = [], []
    for i, name in enumerate(ds.names):
        if np.isnan(ds.train.X[:, i]).all():
            left_out.append({"name": name, "reason": "NaN in every training sample (no such data in the recordings)"})
        else:
            used.append(i)
    return used, left_out


def windows(split: Split, k: int, max_gap_ms: float = 1000.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of the last k feature vectors ending at each sample (k consecutive samples of the split,
    none spanning a gap in time longer than max_gap_ms: a resync or a warm-up restart).

    Returns (X (m, k, F) float32, y (m,), index of the last sample in the split (m,))."""
    n = len(split.y)
    if n < k:
        return np.zeros((0, k, split.X.shape[1]), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    gaps = np.diff(split.t) / 1e6 > max_gap_ms  # gaps[i]: between sample i and i+1
    # last index of a gap at or before each position
    bad = np.concatenate([[0], np.cumsum(gaps)])
    ends = np.arange(k - 1, n)
    ok = bad[ends] == bad[ends - (k - 1)]
    ends = ends[ok]
    idx = ends[:, None] - np.arange(k - 1, -1, -1)[None, :]
    return split.X[idx], split.y[ends], ends
