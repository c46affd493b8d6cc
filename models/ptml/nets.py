"""Small sequence models over the last K feature vectors (PyTorch), exported to ONNX.

The preprocessing lives in the graph, so Node feeds the raw feature vectors exactly as `FeatureEngine`
writes them: input float32 [N, K, n_inputs] (schema order) -> the model's columns (Gather) -> NaN replaced
by the training mean (IsNaN/Where: a standardized 0) -> (x - mean) / std -> clipped to [-clip, clip] ->
network -> softmax `probabilities` float32 [N, 3].
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

OPSET = 15


class Preprocess(nn.Module):
    def __init__(self, columns: list[int], mean: np.ndarray, std: np.ndarray, clip: float = 5.0):
        super().__init__()
        self.register_buffer("idx", torch.tensor(columns, dtype=torch.long))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.clip = float(clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, K, n_inputs] -> [N, K, F]
        x = torch.index_select(x, 2, self.idx)
        x = torch.where(torch.isnan(x), self.mean, x)
        z = (x - self.mean) / self.std
        return torch.clamp(z, -self.clip, self.clip)


class Cnn1d(nn.Module):
    """Two 1-D convolutions over time (kernel 3), ReLU, global average pooling, a linear layer."""

    def __init__(self, pre: Preprocess, n_features: int, channels: int = 16, n_classes: int = 3, dropout: float = 0.1):
        super().__init__()
        self.pre = pre
        self.conv1 = nn.Conv1d(n_features, channels, 3, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels, n_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        z = self.pre(x).transpose(1, 2)  # [N, F, K]
        z = torch.relu(self.conv1(z))
        z = torch.relu(self.conv2(z))
        z = z.mean(dim=2)
        return self.head(self.drop(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


class Lstm(nn.Module):
    """One LSTM layer; the last step's hidden state through a linear layer."""

    def __init__(self, pre: Preprocess, n_features: int, hidden: int = 16, n_classes: int = 3, dropout: float = 0.1):
        super().__init__()
        self.pre = pre
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.pre(x))
        return self.head(self.drop(out[:, -1, :]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


def fit(model: nn.Module, Xtr: np.ndarray, ytr: np.ndarray, Xva: np.ndarray, yva: np.ndarray, *, epochs: int, lr: float,
        batch: int, seed: int, weight_decay: float = 1e-4, patience: int = 5) -> dict:
    """Adam on cross-entropy; keeps the weights of the epoch with the lowest validation loss."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr)
    xv, yv = torch.from_numpy(Xva), torch.from_numpy(yva)
    best = (float("inf"), -1, None)
    history = []
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        total = 0.0
        for i in range(0, len(perm), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model.logits(xt[b]), yt[b])
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
        model.eval()
        with torch.no_grad():
            vl = float(loss_fn(model.logits(xv), yv)) if len(yv) else float("nan")
        history.append({"epoch": epoch + 1, "trainLoss": total / len(yt), "valLoss": vl})
        if vl < best[0]:
            best = (vl, epoch + 1, {k: v.clone() for k, v in model.state_dict().items()})
        elif epoch + 1 - best[1] >= patience:
            break
    if best[2] is not None:
        model.load_state_dict(best[2])
    model.eval()
    return {"bestEpoch": best[1], "bestValLoss": best[0], "epochsRun": len(history), "history": history}


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))).numpy()


def export(model: nn.Module, k: int, n_inputs: int, path: str) -> None:
    model.eval()
    dummy = torch.zeros(1, k, n_inputs, dtype=torch.float32)
    torch.onnx.export(
        model, dummy, path, input_names=["input"], output_names=["probabilities"],
        dynamic_axes={"input": {0: "N"}, "probabilities": {0: "N"}}, opset_version=OPSET, do_constant_folding=True,
    )
