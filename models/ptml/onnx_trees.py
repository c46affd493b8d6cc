"""Gradient-boosted trees -> ONNX `ai.onnx.ml.TreeEnsembleClassifier` (softmax over per-class raw scores).

No skl2onnx/onnxmltools in Debian: the two converters read the trained models directly.

- XGBoost (`multi:softprob`): the booster's own JSON model (`save_raw("json")`): per tree `split_indices`,
  `split_conditions` (float32 thresholds; the leaf value on leaves), `left_children`/`right_children`
  (-1 on leaves), `default_left` (where a missing value goes). XGBoost goes left when `x < threshold`
  (ONNX `BRANCH_LT`, true = left); tree i adds to class `tree_info[i]`; the margin starts at `base_score`.
- scikit-learn `HistGradientBoostingClassifier`: `_predictors[iteration][class].nodes` (`feature_idx`,
  `num_threshold` float64, `left`, `right`, `is_leaf`, `value`, `missing_go_to_left`); it goes left when
  `x <= threshold` (ONNX `BRANCH_LEQ`), the margin starts at `_baseline_prediction`. ONNX thresholds are
  float32: a float64 threshold t becomes the largest float32 <= t, so that for every float32 input x,
  `x <= t` and `x <= float32(t)` agree exactly.

Missing values (NaN): ONNX's `nodes_missing_value_tracks_true` = 1 sends NaN to the true branch (left),
0 to the false branch (right); it is set from `default_left` / `missing_go_to_left` on every node.

The graph takes the whole feature vector (float32 [N, n_inputs], schema order); the model's columns map to
their schema index, so unused columns (all-NaN futures features) are simply never read. Outputs:
`label` (int64 [N]) and `probabilities` (float32 [N, n_classes]).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper

ML_DOMAIN = "ai.onnx.ml"
OPSET = 15
ML_OPSET = 3


@dataclass
class Tree:
    """One regression tree adding to one class's raw score. Node arrays are indexed by node id (0 = root)."""

    class_id: int
    feature: np.ndarray  # int, -1 on leaves (schema column index on branches)
    threshold: np.ndarray  # float32
    left: np.ndarray  # int node id, -1 on leaves
    right: np.ndarray
    missing_left: np.ndarray  # bool
    value: np.ndarray  # float64 leaf value (0 on branches)


@dataclass
class Ensemble:
    mode: str  # "BRANCH_LT" (XGBoost) or "BRANCH_LEQ" (sklearn)
    n_classes: int
    n_inputs: int
    base_values: list[float]
    trees: list[Tree] = field(default_factory=list)


def _floor_f32(t: np.ndarray) -> np.ndarray:
    """The largest float32 <= t, elementwise (t float64)."""
    f = t.astype(np.float32)
    over = f.astype(np.float64) > t
    f[over] = np.nextafter(f[over], np.float32(-np.inf))
    return f


def xgboost_ensemble(booster, columns: list[int], n_inputs: int) -> Ensemble:
    """An XGBoost multi:softprob booster (trained on X[:, columns]) as an Ensemble over the full vector."""
    model = json.loads(bytes(booster.save_raw("json")).decode("utf-8"))
    learner = model["learner"]
    objective = learner["objective"]["name"]
    if objective != "multi:softprob" and objective != "multi:softmax":
        raise ValueError(f"unsupported XGBoost objective {objective}")
    n_classes = int(learner["learner_model_param"]["num_class"])
    base = float(learner["learner_model_param"]["base_score"])
    gb = learner["gradient_booster"]
    if gb["name"] != "gbtree":
        raise ValueError(f"unsupported booster {gb['name']}")
    trees_json = gb["model"]["trees"]
    tree_info = gb["model"]["tree_info"]
    cols = np.asarray(columns, dtype=np.int64)
    ens = Ensemble("BRANCH_LT", n_classes, n_inputs, [base] * n_classes)
    for i, tj in enumerate(trees_json):
        if any(s != 0 for s in tj.get("split_type", [])):
            raise ValueError("categorical splits are not supported")
        left = np.asarray(tj["left_children"], dtype=np.int64)
        right = np.asarray(tj["right_children"], dtype=np.int64)
        leaf = left == -1
        split_idx = np.asarray(tj["split_indices"], dtype=np.int64)
        cond = np.asarray(tj["split_conditions"], dtype=np.float32)
        feature = np.where(leaf, -1, cols[np.where(leaf, 0, split_idx)])
        ens.trees.append(
            Tree(
                class_id=int(tree_info[i]),
                feature=feature,
                threshold=np.where(leaf, np.float32(0), cond).astype(np.float32),
                left=left,
                right=right,
                missing_left=np.asarray(tj["default_left"], dtype=bool),
                value=np.where(leaf, cond.astype(np.float64), 0.0),
            )
        )
    return ens


def sklearn_hgb_ensemble(clf, columns: list[int], n_inputs: int) -> Ensemble:
    """A fitted HistGradientBoostingClassifier (multi-class, numeric features) as an Ensemble."""
    n_classes = len(clf.classes_)
    if n_classes < 3:
        raise ValueError("binary HistGradientBoostingClassifier is not supported (one tree per iteration, sigmoid)")
    if getattr(clf, "is_categorical_", None) is not None and np.any(clf.is_categorical_):
        raise ValueError("categorical features are not supported")
    base = np.asarray(clf._baseline_prediction, dtype=np.float64).reshape(-1)
    cols = np.asarray(columns, dtype=np.int64)
    ens = Ensemble("BRANCH_LEQ", n_classes, n_inputs, [float(b) for b in base])
    for iteration in clf._predictors:
        for k, pred in enumerate(iteration):
            nodes = pred.nodes
            leaf = nodes["is_leaf"].astype(bool)
            thr = _floor_f32(nodes["num_threshold"].astype(np.float64))
            ens.trees.append(
                Tree(
                    class_id=k,
                    feature=np.where(leaf, -1, cols[np.where(leaf, 0, nodes["feature_idx"].astype(np.int64))]),
                    threshold=np.where(leaf, np.float32(0), thr).astype(np.float32),
                    left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
                    right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
                    missing_left=nodes["missing_go_to_left"].astype(bool),
                    value=np.where(leaf, nodes["value"].astype(np.float64), 0.0),
                )
            )
    return ens


def ensemble_attributes(ens: Ensemble) -> dict:
    """The TreeEnsembleClassifier attributes (plain Python lists) of an Ensemble."""
    a: dict = {k: [] for k in (
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
        "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
        "class_treeids", "class_nodeids", "class_ids", "class_weights")}
    for ti, tr in enumerate(ens.trees):
        for nid in range(len(tr.feature)):
            is_leaf = tr.feature[nid] < 0
            a["nodes_treeids"].append(ti)
            a["nodes_nodeids"].append(nid)
            a["nodes_featureids"].append(0 if is_leaf else int(tr.feature[nid]))
            a["nodes_values"].append(0.0 if is_leaf else float(tr.threshold[nid]))
            a["nodes_modes"].append("LEAF" if is_leaf else ens.mode)
            a["nodes_truenodeids"].append(0 if is_leaf else int(tr.left[nid]))
            a["nodes_falsenodeids"].append(0 if is_leaf else int(tr.right[nid]))
            a["nodes_missing_value_tracks_true"].append(0 if is_leaf else int(bool(tr.missing_left[nid])))
            if is_leaf:
                a["class_treeids"].append(ti)
                a["class_nodeids"].append(nid)
                a["class_ids"].append(int(tr.class_id))
                a["class_weights"].append(float(tr.value[nid]))
    a["base_values"] = [float(b) for b in ens.base_values]
    a["classlabels_int64s"] = list(range(ens.n_classes))
    a["post_transform"] = "SOFTMAX"
    return a


def ensemble_to_onnx(ens: Ensemble, name: str, metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    attrs = ensemble_attributes(ens)
    node = helper.make_node(
        "TreeEnsembleClassifier", ["input"], ["label", "probabilities"], domain=ML_DOMAIN, name="trees", **attrs
    )
    graph = helper.make_graph(
        [node],
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", ens.n_inputs])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", ens.n_classes]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(ML_DOMAIN, ML_OPSET)],
        producer_name="papertape-models",
        producer_version="1",
    )
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        p = model.metadata_props.add()
        p.key = k
        p.value = v
    onnx.checker.check_model(model)
    return model


def node_attributes(model: onnx.ModelProto) -> dict:
    """The attributes of the model's TreeEnsembleClassifier node, decoded (as ONNX stores them: float32)."""
    nodes = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
    if len(nodes) != 1:
        raise ValueError("expected one TreeEnsembleClassifier node")
    return {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}


def evaluate_attributes(attrs: dict, X: np.ndarray) -> np.ndarray:
    """A small interpreter of ONNX TreeEnsembleClassifier semantics (ai.onnx.ml), used to check converters
    without onnxruntime: BRANCH_LT / BRANCH_LEQ on float32 inputs and thresholds, NaN to the true branch when
    nodes_missing_value_tracks_true, per-class sums of the leaves' class_weights plus base_values, then
    softmax (post_transform SOFTMAX). Returns float64 probabilities (n, classes)."""
    X = np.asarray(X, dtype=np.float32)
    modes = [m.decode() if isinstance(m, bytes) else m for m in attrs["nodes_modes"]]
    key = {}
    for i, (t, n) in enumerate(zip(attrs["nodes_treeids"], attrs["nodes_nodeids"])):
        key[(t, n)] = i
    feat = np.asarray(attrs["nodes_featureids"], dtype=np.int64)
    thr = np.asarray(attrs["nodes_values"], dtype=np.float32)
    true_ = attrs["nodes_truenodeids"]
    false_ = attrs["nodes_falsenodeids"]
    trees = attrs["nodes_treeids"]
    miss = attrs.get("nodes_missing_value_tracks_true") or [0] * len(modes)
    leaf_w: dict[int, list[tuple[int, float]]] = {}
    for t, n, c, w in zip(attrs["class_treeids"], attrs["class_nodeids"], attrs["class_ids"], attrs["class_weights"]):
        leaf_w.setdefault(key[(t, n)], []).append((c, float(np.float32(w))))
    n_classes = len(attrs["classlabels_int64s"])
    base = np.asarray(attrs.get("base_values") or [0.0] * n_classes, dtype=np.float64)
    roots = [key[(t, 0)] for t in sorted(set(trees))]
    out = np.zeros((X.shape[0], n_classes), dtype=np.float64)
    for r in range(X.shape[0]):
        score = base.copy()
        x = X[r]
        for i in roots:
            while modes[i] != "LEAF":
                v = x[feat[i]]
                if np.isnan(v):
                    go = bool(miss[i])
                elif modes[i] == "BRANCH_LT":
                    go = bool(v < thr[i])
                elif modes[i] == "BRANCH_LEQ":
                    go = bool(v <= thr[i])
                else:
                    raise ValueError(f"mode {modes[i]} not interpreted")
                i = key[(trees[i], true_[i] if go else false_[i])]
            for c, w in leaf_w.get(i, []):
                score[c] += w
        out[r] = score
    post = attrs.get("post_transform", b"NONE")
    post = post.decode() if isinstance(post, bytes) else post
    if post == "SOFTMAX":
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    elif post != "NONE":
        raise ValueError(f"post_transform {post} not interpreted")
    return out
