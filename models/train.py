#!/usr/bin/env python3
"""Trains papertape's models on a `papertape dataset` directory and exports them to ONNX.

    /usr/bin/python3 models/train.py --data var/datasets/spot-btcusdt-5s --out models [--only gbdt-xgb,cnn]

For each model it writes models/<name>/: model.onnx, model.json (the sidecar the Node side checks at load:
feature schema version and names, the columns used, K for sequence models, horizon, classes), card.md and
card.json (data, features, horizon, test metrics next to a majority-class and a logistic-regression
baseline), parity.json (inputs and the Python model's probabilities, checked in Node by `npm test`).
Everything is seeded: the same dataset gives the same models.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ptml import metrics  # noqa: E402
from ptml.data import CLASS_NAMES, Dataset, load_dataset, used_columns, windows  # noqa: E402

MODELS = ["gbdt-xgb", "gbdt-hgb", "cnn", "lstm"]
SEQ_K = 16
PARITY_ROWS = 200
PARITY_SEQS = 48


def f32_b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def dump_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def parity_rows(X: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n rows: most evenly spaced test rows as they are, the rest with ~20% of their values set to NaN
    (so the missing-value directions are exercised)."""
    rng = np.random.default_rng(seed)
    n_plain = n * 3 // 4
    idx = np.linspace(0, len(X) - 1, n).round().astype(int)
    rows = X[idx].copy()
    holes = rng.random(rows[n_plain:].shape) < 0.2
    rows[n_plain:][holes] = np.nan
    return rows


# Why the second GBDT is scikit-learn's HistGradientBoosting and not LightGBM (written into the gbdt-hgb card).
LIGHTGBM_WHY = (
    "The design names LightGBM for the second GBDT. LightGBM is not packaged in Debian 12 and PyPI is not"
    " reachable on the build machines, so it can be neither installed nor tested here. scikit-learn's"
    " HistGradientBoostingClassifier is the same kind of model (gradient-boosted trees on histogram-binned"
    " features with a learned direction for missing values), ships in Debian (python3-sklearn), and its ONNX"
    " exporter (models/ptml/onnx_trees.py) is tested against predict_proba. A LightGBM model would need an"
    " exporter of its own with its own tests, so train.py keeps HistGradientBoosting even where lightgbm imports.")


def lightgbm_version():
    """lightgbm's version when it imports, else None."""
    try:
        import lightgbm  # noqa: F401
    except Exception:  # ImportError, or a broken install
        return None
    return getattr(lightgbm, "__version__", "unknown")


def lightgbm_note() -> str:
    v = lightgbm_version()
    if v is None:
        return "lightgbm is not installed (not in Debian 12; PyPI unreachable): gbdt-hgb is scikit-learn's HistGradientBoosting"
    return (f"lightgbm {v} imports, but gbdt-hgb stays scikit-learn's HistGradientBoosting:"
            " no LightGBM -> ONNX exporter is written and tested here")


def library_versions() -> dict:
    import onnx
    import sklearn
    out = {"python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__, "onnx": onnx.__version__}
    try:
        import xgboost
        out["xgboost"] = xgboost.__version__
    except ImportError:
        pass
    try:
        import torch
        out["torch"] = torch.__version__
    except ImportError:
        pass
    return out


class Trainer:
    def __init__(self, ds: Dataset, out: str, seed: int, quick: bool):
        self.ds = ds
        self.out = out
        self.seed = seed
        self.quick = quick
        self.cols, self.left_out = used_columns(ds)
        self.n_inputs = len(ds.names)
        self._lr_cache: dict = {}

    # ---------------------------------------------------------------- baselines

    def baselines(self, rows_test: np.ndarray | None = None) -> dict:
        """Majority class and logistic regression, on the test rows given (default all)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        ds, cols = self.ds, self.cols
        key = "lr"
        if key not in self._lr_cache:
            Xtr = np.nan_to_num(ds.train.X[:, cols].astype(np.float64))
            lr = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
            lr.fit(Xtr, ds.train.y)
            self._lr_cache[key] = lr
        lr = self._lr_cache[key]
        idx = np.arange(len(ds.test.y)) if rows_test is None else rows_test
        y = ds.test.y[idx]
        Xte = np.nan_to_num(ds.test.X[idx][:, cols].astype(np.float64))
        return {
            "majorityClass": {"predicts": CLASS_NAMES[int(np.bincount(ds.train.y, minlength=3).argmax())],
                              **metrics.classification(y, metrics.majority_proba(ds.train.y, len(y)))},
            "logisticRegression": {"note": "standardized features, NaN as 0, C=1",
                                   **metrics.classification(y, lr.predict_proba(Xte))},
        }

    # ---------------------------------------------------------------- GBDT

    def train_xgb(self) -> dict:
        import xgboost as xgb
        from ptml.onnx_trees import ensemble_to_onnx, xgboost_ensemble

        ds, cols = self.ds, self.cols
        params = dict(max_depth=4, learning_rate=0.05, subsample=0.8, colsample_bytree=0.8, min_child_weight=5,
                      reg_lambda=1.0, tree_method="hist", objective="multi:softprob", random_state=self.seed, n_jobs=2)
        rounds = 60 if self.quick else 400
        probe = xgb.XGBClassifier(n_estimators=rounds, early_stopping_rounds=30, eval_metric="mlogloss", **params)
        probe.fit(ds.train.X[:, cols], ds.train.y, eval_set=[(ds.val.X[:, cols], ds.val.y)], verbose=False)
        best = int(probe.best_iteration) + 1
        model = xgb.XGBClassifier(n_estimators=best, **params)
        model.fit(ds.train.X[:, cols], ds.train.y)
        ens = xgboost_ensemble(model.get_booster(), cols, self.n_inputs)
        predict = lambda X: model.predict_proba(X[:, cols]).astype(np.float64)  # noqa: E731
        return self._finish_trees("gbdt-xgb", ens, predict, {
            "library": "xgboost", "estimator": "XGBClassifier", "rounds": best,
            "roundsChosenBy": "early stopping on the validation split's log loss (patience 30), then refit on train",
            **{k: v for k, v in params.items() if k != "n_jobs"}})

    def train_hgb(self) -> dict:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import log_loss
        from ptml.onnx_trees import ensemble_to_onnx, sklearn_hgb_ensemble

        ds, cols = self.ds, self.cols
        params = dict(learning_rate=0.05, max_depth=4, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                      random_state=self.seed)
        rounds = 60 if self.quick else 400
        probe = HistGradientBoostingClassifier(max_iter=rounds, early_stopping=False, **params)
        probe.fit(ds.train.X[:, cols], ds.train.y)
        losses = [log_loss(ds.val.y, p, labels=[0, 1, 2]) for p in probe.staged_predict_proba(ds.val.X[:, cols])]
        best = int(np.argmin(losses)) + 1
        model = HistGradientBoostingClassifier(max_iter=best, early_stopping=False, **params)
        model.fit(ds.train.X[:, cols], ds.train.y)
        ens = sklearn_hgb_ensemble(model, cols, self.n_inputs)
        predict = lambda X: model.predict_proba(X[:, cols]).astype(np.float64)  # noqa: E731
        return self._finish_trees("gbdt-hgb", ens, predict, {
            "library": "scikit-learn", "estimator": "HistGradientBoostingClassifier", "iterations": best,
            "iterationsChosenBy": "the iteration with the lowest validation log loss (staged), then refit on train", **params,
            "notLightGBM": {"lightgbm": lightgbm_version(), "why": LIGHTGBM_WHY}})

    def _finish_trees(self, name: str, ens, predict, training: dict) -> dict:
        from ptml.onnx_trees import ensemble_to_onnx, evaluate_attributes, node_attributes

        ds = self.ds
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        model = ensemble_to_onnx(ens, name, {"papertape.feature_schema_version": ds.schema_version})
        path = os.path.join(d, "model.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        proba = predict(ds.test.X)
        rows = parity_rows(ds.test.X, PARITY_ROWS, self.seed)
        expected = predict(rows)
        # the ONNX graph, interpreted by ptml's reference evaluator, must give the Python model's probabilities
        got = evaluate_attributes(node_attributes(model), rows)
        diff = float(np.abs(got - expected).max())
        if diff > 1e-5:
            raise SystemExit(f"{name}: ONNX tree ensemble differs from the Python model by {diff}")
        dump_json(os.path.join(d, "parity.json"), {
            "model": name, "inputShape": [len(rows), self.n_inputs], "inputs": f32_b64(rows),
            "inputsEncoding": "base64 of little-endian float32, row-major", "probabilities": expected.tolist(),
            "source": "test split rows (the last quarter with ~20% of values set to NaN); probabilities from the Python model's predict_proba",
            "tolerance": 1e-5})
        trees = len(ens.trees)
        nodes = sum(len(t.feature) for t in ens.trees)
        return self._write(name, "tree-ensemble", path, proba, np.arange(len(ds.test.y)), {
            **training, "trees": trees, "nodes": nodes, "referenceEvaluatorMaxDiff": diff}, seq=None)

    # ---------------------------------------------------------------- sequence nets

    def train_net(self, name: str) -> dict:
        import torch
        from ptml import nets

        torch.set_num_threads(2)
        ds, cols, k = self.ds, self.cols, SEQ_K
        Xtr, ytr, _ = windows(ds.train, k)
        Xva, yva, _ = windows(ds.val, k)
        Xte, yte, ends = windows(ds.test, k)
        sub = ds.train.X[:, cols].astype(np.float64)
        mean = np.nanmean(sub, axis=0)
        std = np.nanstd(sub, axis=0)
        std[~(std > 1e-12)] = 1.0
        torch.manual_seed(self.seed)
        pre = nets.Preprocess(cols, mean, std)
        F = len(cols)
        net = nets.Cnn1d(pre, F) if name == "cnn" else nets.Lstm(pre, F)
        hp = {"epochs": 3 if self.quick else 40, "lr": 2e-3, "batch": 128, "seed": self.seed, "weight_decay": 1e-4, "patience": 6}
        hist = nets.fit(net, Xtr, ytr, Xva, yva, **hp)
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        nets.export(net, k, self.n_inputs, path)
        import onnx
        m = onnx.load(path)
        p = m.metadata_props.add()
        p.key, p.value = "papertape.feature_schema_version", ds.schema_version
        onnx.checker.check_model(m)
        onnx.save(m, path)
        proba = nets.predict(net, Xte).astype(np.float64)
        idx = np.linspace(0, len(Xte) - 1, PARITY_SEQS).round().astype(int)
        rows = Xte[idx].copy()
        rng = np.random.default_rng(self.seed)
        tail = rows[PARITY_SEQS * 3 // 4:]
        tail[rng.random(tail.shape) < 0.2] = np.nan
        expected = nets.predict(net, rows).astype(np.float64)
        dump_json(os.path.join(d, "parity.json"), {
            "model": name, "inputShape": [len(rows), k, self.n_inputs], "inputs": f32_b64(rows),
            "inputsEncoding": "base64 of little-endian float32, row-major", "probabilities": expected.tolist(),
            "source": "test split windows (the last quarter with ~20% of values set to NaN); probabilities from the PyTorch model",
            "tolerance": 1e-5})
        arch = {"cnn": "Conv1d(F,16,3,pad 1)-ReLU-Conv1d(16,16,3,pad 1)-ReLU-mean over time-Dropout(0.1)-Linear(16,3)-softmax",
                "lstm": "LSTM(F,16, one layer)-last step-Dropout(0.1)-Linear(16,3)-softmax"}[name]
        params = int(sum(p.numel() for p in net.parameters()))
        return self._write(name, "sequence", path, proba, ends, {
            "library": "torch", "architecture": arch, "parameters": params, "sequenceLength": k,
            "preprocessing": "in the graph: model columns (Gather), NaN -> training mean, standardized with the training mean/std, clipped to [-5, 5]",
            "optimizer": "Adam, cross-entropy, best validation-loss epoch kept",
            **{kk: vv for kk, vv in hp.items()}, "bestEpoch": hist["bestEpoch"], "epochsRun": hist["epochsRun"],
            "bestValLoss": hist["bestValLoss"], "opset": nets.OPSET}, seq=k)

    # ---------------------------------------------------------------- cards

    def _write(self, name: str, kind: str, path: str, proba: np.ndarray, test_rows: np.ndarray, training: dict, seq: int | None) -> dict:
        ds = self.ds
        meta = ds.meta
        y = ds.test.y[test_rows]
        test = metrics.classification(y, proba)
        base = self.baselines(test_rows)
        gate = metrics.gate(y, proba)
        used = [ds.names[i] for i in self.cols]
        d = os.path.dirname(path)
        src = meta["source"]
        sidecar = {
            "format": "papertape-model",
            "formatVersion": 1,
            "name": name,
            "kind": kind,
            "file": "model.onnx",
            "sha256": sha256(path),
            "input": {"name": "input", "dtype": "float32", "shape": (["N", seq, self.n_inputs] if seq else ["N", self.n_inputs])},
            "output": {"name": "probabilities", "dtype": "float32", "shape": ["N", 3]},
            "featureSchema": {"version": ds.schema_version, "names": ds.names},
            "features": {"used": used, "leftOut": self.left_out,
                         "missing": ("NaN passes through: each split has a learned default direction" if kind == "tree-ensemble"
                                     else "NaN is replaced by the training mean in the graph; the gate does not act while a used feature is NaN")},
            **({"sequenceLength": seq, "sequenceStep": "one feature vector per book update of the traded venue (the dataset's sampling)"} if seq else {}),
            "classes": CLASS_NAMES,
            "horizon": meta["horizon"],
            "deadBand": meta["deadBand"],
            "labels": meta["labels"],
            "trainedOn": {"venue": src["venue"], "symbol": src["symbol"], "files": src["files"], "sampling": meta["sampling"],
                          "splits": {s: {"samples": meta["splits"][s]["samples"], "from": meta["splits"][s]["from"]["iso"],
                                         "to": meta["splits"][s]["to"]["iso"]} for s in ("train", "val", "test")}},
            "parity": "parity.json",
            "card": "card.md",
        }
        dump_json(os.path.join(d, "model.json"), sidecar)
        card = {
            "name": name,
            "kind": kind,
            "model": training,
            "data": {"dataset": os.path.relpath(ds.path), "venue": src["venue"], "symbol": src["symbol"],
                     "files": [f["name"] for f in src["files"]],
                     "splits": {s: {"samples": meta["splits"][s]["samples"], "classes": meta["splits"][s]["classes"],
                                    "from": meta["splits"][s]["from"]["iso"], "to": meta["splits"][s]["to"]["iso"]}
                                for s in ("train", "val", "test")},
                     "sampling": meta["sampling"]["rule"], "embargo": meta["split"]["embargo"]},
            "horizon": meta["horizon"]["text"],
            "deadBandBp": meta["deadBand"]["value"],
            "features": {"schemaVersion": ds.schema_version, "used": used, "leftOut": self.left_out},
            "test": {"rows": ("every test sample" if seq is None else f"test samples that end a full window of {seq} (first {seq - 1} and any after a gap have none)"),
                     "model": test, **base},
            "gate": gate,
            "versions": library_versions(),
            "modelBytes": os.path.getsize(path),
        }
        dump_json(os.path.join(d, "card.json"), card)
        with open(os.path.join(d, "card.md"), "w", encoding="utf-8") as f:
            f.write(card_markdown(card))
        return card


def fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def verdict(name: str, t: dict) -> str:
    """One plain sentence: does the model beat the baselines on each metric?"""
    m, maj, lr = t["model"], t["majorityClass"], t["logisticRegression"]
    parts = []
    for key, label, better in (("accuracy", "accuracy", max), ("macroF1", "macro F1", max), ("logLoss", "log loss", min)):
        best_base = better(maj[key], lr[key])
        beats = m[key] == better(m[key], best_base) and m[key] != best_base
        parts.append(f"{label} {'better' if beats else 'not better'} than the best baseline ({fmt(m[key])} vs {fmt(best_base)})")
    return f"{name}: " + "; ".join(parts) + "."


def card_markdown(c: dict) -> str:
    t = c["test"]
    data = c["data"]
    lines = [f"# Model card: {c['name']}", "",
             f"{c['kind']}: {c['model'].get('estimator') or c['model'].get('architecture')} ({c['model']['library']}); "
             f"`model.onnx` {c['modelBytes']:,} bytes, sidecar `model.json`, parity rows `parity.json`.", ""]
    why = c["model"].get("notLightGBM")
    if why:
        lines += ["## Why scikit-learn's histogram GBDT, not LightGBM", "", why["why"] + (
            "" if why.get("lightgbm") is None else f" (lightgbm {why['lightgbm']} was importable when this model was trained.)"), ""]
    lines += ["## Data", "",
             f"- {data['venue']} {data['symbol']}, recordings {', '.join(data['files'])} (`../shared/data`), built with `papertape dataset`",
             f"- label: the mid's move over **{c['horizon']}**: down / flat / up, dead band ±{c['deadBandBp']:.3f} bp",
             f"- sampling: {data['sampling']}; splits by time, {data['embargo']}", ""]
    lines.append("| split | samples | down | flat | up | from | to |")
    lines.append("|---|---|---|---|---|---|---|")
    for s, v in data["splits"].items():
        cl = v["classes"]
        lines.append(f"| {s} | {v['samples']} | {cl['down']} | {cl['flat']} | {cl['up']} | {v['from']} | {v['to']} |")
    lines += ["", "## Features", "",
              f"Feature schema version {c['features']['schemaVersion']}; {len(c['features']['used'])} used: "
              + ", ".join(f"`{n}`" for n in c["features"]["used"]) + ".", ""]
    if c["features"]["leftOut"]:
        lines.append("Left out: " + ", ".join(f"`{x['name']}`" for x in c["features"]["leftOut"]) + f" ({c['features']['leftOut'][0]['reason']}).")
        lines.append("")
    lines += ["## Test split", "", f"Rows: {t['rows']} ({t['model']['samples']}).", "",
              verdict(c["name"], t), "",
              "| | accuracy | macro F1 | log loss |", "|---|---|---|---|",
              f"| **{c['name']}** | {fmt(t['model']['accuracy'])} | {fmt(t['model']['macroF1'])} | {fmt(t['model']['logLoss'])} |",
              f"| majority class ({t['majorityClass']['predicts']}) | {fmt(t['majorityClass']['accuracy'])} | {fmt(t['majorityClass']['macroF1'])} | {fmt(t['majorityClass']['logLoss'])} |",
              f"| logistic regression | {fmt(t['logisticRegression']['accuracy'])} | {fmt(t['logisticRegression']['macroF1'])} | {fmt(t['logisticRegression']['logLoss'])} |",
              "", "The gate on the test split: how often p(up) or p(down) reaches the confidence, and how often that direction was the label.", "",
              "| MIN_CONFIDENCE | passes | share | precision |", "|---|---|---|---|"]
    for g in c["gate"]:
        lines.append(f"| {g['minConfidence']} | {g['passes']} | {fmt(g['share'])} | {fmt(g['precision'])} |")
    m = c["model"]
    lines += ["", "## Training", "", "```json", json.dumps(m, indent=1), "```", "",
              "Library versions: " + ", ".join(f"{k} {v}" for k, v in c["versions"].items()) + ".", "",
              "## Limits", "",
              "- A few minutes of one symbol on one day: a demonstration of the pipeline, not evidence of an edge. The"
              " splits are consecutive stretches of one trending session, so the test metrics carry a large sampling error.",
              "- Trained on BTCUSDT only: order-flow features are in base units, so on another symbol the model sees a"
              " different scale than it learned.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=False, help="a papertape dataset directory (papertape dataset ... --out DIR)")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)), help="where models/<name>/ go (default: models/)")
    ap.add_argument("--only", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="few rounds/epochs (tests)")
    ap.add_argument("--cards-only", action="store_true", help="rewrite card.md from each model's card.json (no training)")
    a = ap.parse_args(argv)
    if a.cards_only:
        for name in MODELS:
            path = os.path.join(a.out, name, "card.json")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    card = json.load(f)
                with open(os.path.join(a.out, name, "card.md"), "w", encoding="utf-8") as f:
                    f.write(card_markdown(card))
        return 0
    if not a.data:
        ap.error("--data is required")
    if any(n.strip() == "gbdt-hgb" for n in a.only.split(",")):
        print(lightgbm_note(), flush=True)
    ds = load_dataset(a.data)
    tr = Trainer(ds, a.out, a.seed, a.quick)
    summary = {}
    for name in [s.strip() for s in a.only.split(",") if s.strip()]:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name} (known: {', '.join(MODELS)})")
        t0 = time.time()
        card = {"gbdt-xgb": tr.train_xgb, "gbdt-hgb": tr.train_hgb}.get(name, lambda n=name: tr.train_net(n))()
        t = card["test"]
        summary[name] = {"seconds": round(time.time() - t0, 1), **{k: round(v, 4) for k, v in t["model"].items() if k != "samples"}}
        print(f"{name}: {json.dumps(summary[name])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
