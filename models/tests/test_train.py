"""train.py end to end on a small synthetic dataset in the `papertape dataset` layout."""
import json
import os

import numpy as np
import pytest

import train

NAMES = [f"f{i}" for i in range(8)] + ["funding_rate_bp"]


def write_dataset(d, seed=0):
    rng = np.random.default_rng(seed)
    meta_splits = {}
    t0 = 1_723_161_314_000_000_000
    for s, n in (("train", 600), ("val", 150), ("test", 150)):
        X = rng.normal(size=(n, len(NAMES))).astype(np.float32)
        X[:, -1] = np.nan  # a futures feature: NaN everywhere
        y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), [-0.4, 0.4]).astype(np.int8)
        t = (t0 + np.arange(n) * 100_000_000).astype(np.int64)
        t0 = int(t[-1]) + 10_000_000_000
        for k, a in (("X", X), ("y", y), ("t", t)):
            np.save(os.path.join(d, f"{k}_{s}.npy"), a)
        meta_splits[s] = {"samples": n, "classes": {c: int((y == i).sum()) for i, c in enumerate(["down", "flat", "up"])},
                          "from": {"iso": "2024-08-08T23:55:14.263Z"}, "to": {"iso": "2024-08-08T23:59:14.263Z"}}
    meta = {"format": "papertape-dataset", "featureSchema": {"version": "test", "names": NAMES},
            "horizon": {"kind": "time", "ms": 5000, "text": "5s"}, "deadBand": {"value": 0.6, "unit": "bp", "auto": True},
            "labels": {"names": ["down", "flat", "up"]}, "sampling": {"every": 1, "warmupMs": 60000, "rule": "every book update"},
            "split": {"embargo": "H"}, "source": {"venue": "spot", "symbol": "BTCUSDT", "files": [{"name": "x.gz", "bytes": 1, "sha256": "0" * 64}]},
            "splits": meta_splits}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


@pytest.mark.parametrize("only", ["gbdt-hgb", "lstm"])
def test_train_writes_model_sidecar_card_and_parity(tmp_path, only):
    data = tmp_path / "ds"
    data.mkdir()
    write_dataset(str(data))
    out = tmp_path / "models"
    assert train.main(["--data", str(data), "--out", str(out), "--only", only, "--quick"]) == 0
    d = out / only
    for f in ("model.onnx", "model.json", "card.md", "card.json", "parity.json"):
        assert (d / f).exists(), f
    sc = json.loads((d / "model.json").read_text())
    assert sc["featureSchema"] == {"version": "test", "names": NAMES}
    assert sc["features"]["used"] == NAMES[:-1]
    assert [x["name"] for x in sc["features"]["leftOut"]] == ["funding_rate_bp"]
    assert sc["trainedOn"]["sampling"]["warmupMs"] == 60000
    assert sc["kind"] == ("sequence" if only == "lstm" else "tree-ensemble")
    if only == "lstm":
        assert sc["sequenceLength"] == train.SEQ_K and sc["input"]["shape"] == ["N", train.SEQ_K, len(NAMES)]
    card = json.loads((d / "card.json").read_text())
    test = card["test"]
    for k in ("model", "majorityClass", "logisticRegression"):
        assert set(test[k]) >= {"accuracy", "macroF1", "logLoss"}
    # the label depends on f0: a real model beats always answering the majority class
    assert test["logisticRegression"]["accuracy"] > test["majorityClass"]["accuracy"]
    md = (d / "card.md").read_text()
    assert "| majority class" in md and "| logistic regression" in md
    p = json.loads((d / "parity.json").read_text())
    assert len(p["probabilities"]) == (train.PARITY_ROWS if only != "lstm" else train.PARITY_SEQS)
    if only == "gbdt-hgb":
        # the card says why the second GBDT is scikit-learn's and not LightGBM
        assert card["model"]["notLightGBM"] == {"lightgbm": train.lightgbm_version(), "why": train.LIGHTGBM_WHY}
        assert "## Why scikit-learn's histogram GBDT, not LightGBM" in md and "not packaged in Debian 12" in md


def test_lightgbm_is_reported_but_not_used(monkeypatch):
    import sys
    import types
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import fails
    assert train.lightgbm_version() is None
    assert "not installed" in train.lightgbm_note()
    monkeypatch.setitem(sys.modules, "lightgbm", types.SimpleNamespace(__version__="4.9.9"))
    assert train.lightgbm_version() == "4.9.9"
    assert "lightgbm 4.9.9 imports, but gbdt-hgb stays scikit-learn's HistGradientBoosting" in train.lightgbm_note()
