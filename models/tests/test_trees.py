"""The GBDT -> ONNX converters against the Python models' own predict_proba, on held-out rows with NaN."""
import base64
import json
import os

import numpy as np
import onnx
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from ptml.onnx_trees import (_floor_f32, ensemble_to_onnx, evaluate_attributes, node_attributes,
                             sklearn_hgb_ensemble, xgboost_ensemble)

MODELS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_INPUTS = 12


def synthetic(n, seed):
    """3 classes from a noisy function of a few columns; column 3 has NaN in training (a learned missing
    direction), column 11 is never used (all NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_INPUTS)).astype(np.float32)
    X[:, 5] = np.round(X[:, 5], 1)  # ties on thresholds
    score = X[:, 0] + 0.7 * X[:, 1] * X[:, 2] - 0.5 * np.nan_to_num(X[:, 3]) + 0.3 * rng.normal(size=n)
    X[rng.random(n) < 0.2, 3] = np.nan
    y = np.digitize(score, [-0.5, 0.5]).astype(np.int64)
    X[:, 11] = np.nan
    return X, y


COLUMNS = list(range(11))  # the model reads columns 0..10 of the 12


def held_out():
    X, _ = synthetic(400, 99)
    rng = np.random.default_rng(5)
    X[rng.random(X.shape) < 0.15] = np.nan  # NaN anywhere, also where training had none
    X[:5, 0] = np.inf
    X[5:10, 0] = -np.inf
    return X


def roundtrip(model: onnx.ModelProto) -> dict:
    return node_attributes(onnx.load_from_string(model.SerializeToString()))


def test_xgboost_converter_matches_predict_proba():
    xgb = pytest.importorskip("xgboost")
    X, y = synthetic(3000, 1)
    m = xgb.XGBClassifier(n_estimators=40, max_depth=4, learning_rate=0.2, tree_method="hist", random_state=0, n_jobs=1)
    m.fit(X[:, COLUMNS], y)
    ens = xgboost_ensemble(m.get_booster(), COLUMNS, N_INPUTS)
    model = ensemble_to_onnx(ens, "t")
    attrs = roundtrip(model)
    # missing directions are learned: both directions occur
    assert set(attrs["nodes_missing_value_tracks_true"]) == {0, 1}
    Xh = held_out()
    got = evaluate_attributes(attrs, Xh)
    want = m.predict_proba(Xh[:, COLUMNS])
    assert np.abs(got - want).max() < 1e-5


def test_xgboost_converter_reads_the_right_columns():
    xgb = pytest.importorskip("xgboost")
    X, y = synthetic(1000, 2)
    m = xgb.XGBClassifier(n_estimators=5, max_depth=3, tree_method="hist", n_jobs=1).fit(X[:, COLUMNS], y)
    attrs = roundtrip(ensemble_to_onnx(xgboost_ensemble(m.get_booster(), COLUMNS, N_INPUTS), "t"))
    used = {f for f, mode in zip(attrs["nodes_featureids"], attrs["nodes_modes"]) if mode != b"LEAF"}
    assert 11 not in used and 0 in used


def test_sklearn_hgb_converter_matches_predict_proba():
    X, y = synthetic(3000, 3)
    m = HistGradientBoostingClassifier(max_iter=40, max_depth=4, learning_rate=0.2, early_stopping=False, random_state=0)
    m.fit(X[:, COLUMNS], y)
    model = ensemble_to_onnx(sklearn_hgb_ensemble(m, COLUMNS, N_INPUTS), "t")
    attrs = roundtrip(model)
    assert set(attrs["nodes_missing_value_tracks_true"]) == {0, 1}
    Xh = held_out()
    # inputs exactly on a float64 threshold's float32 neighbours: the rounding of thresholds must not flip them
    thr = np.asarray([t for t, mode in zip(attrs["nodes_values"], attrs["nodes_modes"]) if mode != b"LEAF"], dtype=np.float32)
    feats = [f for f, mode in zip(attrs["nodes_featureids"], attrs["nodes_modes"]) if mode != b"LEAF"]
    for i, (t, f) in enumerate(zip(thr[:100], feats[:100])):
        Xh[i, :] = np.nan
        Xh[i, f] = np.nextafter(t, np.float32(np.inf)) if i % 2 else t
    got = evaluate_attributes(attrs, Xh)
    want = m.predict_proba(Xh[:, COLUMNS])
    assert np.abs(got - want).max() < 1e-5


def test_floor_f32_is_the_largest_float32_not_above():
    t = np.asarray([0.1, -0.1, 1 / 3, 2.0, 1e-40], dtype=np.float64)
    f = _floor_f32(t)
    assert np.all(f.astype(np.float64) <= t)
    assert np.all(np.nextafter(f, np.float32(np.inf)).astype(np.float64) > t)


def test_reference_evaluator_rejects_modes_it_does_not_know():
    attrs = {"nodes_modes": ["BRANCH_EQ", "LEAF", "LEAF"], "nodes_treeids": [0, 0, 0], "nodes_nodeids": [0, 1, 2],
             "nodes_featureids": [0, 0, 0], "nodes_values": [0.0, 0, 0], "nodes_truenodeids": [1, 0, 0],
             "nodes_falsenodeids": [2, 0, 0], "class_treeids": [0], "class_nodeids": [1], "class_ids": [0],
             "class_weights": [1.0], "classlabels_int64s": [0, 1, 2]}
    with pytest.raises(ValueError, match="BRANCH_EQ"):
        evaluate_attributes(attrs, np.zeros((1, 1), np.float32))


@pytest.mark.parametrize("name", ["gbdt-xgb", "gbdt-hgb"])
def test_shipped_tree_models_reproduce_their_parity_rows(name):
    d = os.path.join(MODELS_DIR, name)
    if not os.path.exists(os.path.join(d, "model.onnx")):
        pytest.skip(f"{name} not trained")
    with open(os.path.join(d, "parity.json"), encoding="utf-8") as f:
        p = json.load(f)
    x = np.frombuffer(base64.b64decode(p["inputs"]), dtype="<f4").reshape(p["inputShape"])
    got = evaluate_attributes(node_attributes(onnx.load(os.path.join(d, "model.onnx"))), x)
    assert np.abs(got - np.asarray(p["probabilities"])).max() < 1e-5
    assert np.isnan(x).any()
