"""The sequence nets: the ONNX export computes what PyTorch computes (checked with onnxruntime-node when the
Node side is installed), with the preprocessing (columns, NaN, scaling) inside the graph."""
import json
import os
import shutil
import subprocess

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from ptml import nets  # noqa: E402
from ptml.data import Split, windows  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N_INPUTS, K = 10, 6
COLUMNS = [0, 1, 2, 4, 7]


def make(kind):
    torch.manual_seed(0)
    pre = nets.Preprocess(COLUMNS, np.zeros(len(COLUMNS)), np.ones(len(COLUMNS)))
    return nets.Cnn1d(pre, len(COLUMNS)) if kind == "cnn" else nets.Lstm(pre, len(COLUMNS))


def test_preprocess_selects_columns_and_replaces_nan_by_the_mean():
    pre = nets.Preprocess([1, 3], np.array([10.0, 0.0]), np.array([2.0, 1.0]), clip=3)
    x = torch.tensor([[[0, 14, 0, np.nan], [0, np.nan, 0, 9]]], dtype=torch.float32)
    z = pre(x).numpy()
    assert z.shape == (1, 2, 2)
    assert np.allclose(z, [[[2, 0], [0, 3]]])  # (14-10)/2, NaN -> mean -> 0; 9 clipped to 3


def test_windows_never_span_a_gap():
    t = np.array([0, 100, 200, 300, 2000, 2100, 2200], dtype=np.int64) * 1_000_000
    X = np.arange(7, dtype=np.float32)[:, None]
    Xw, yw, ends = windows(Split(X, np.arange(7), t), 3)
    assert ends.tolist() == [2, 3, 6]
    assert Xw[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 3], [4, 5, 6]]


def node_ort_available():
    return shutil.which("node") and os.path.exists(os.path.join(ROOT, "node_modules", "onnxruntime-node"))


def run_in_node(path, x):
    """onnxruntime-node on the exported file (the runtime papertape uses)."""
    script = (
        "const ort = require('onnxruntime-node');"
        "const [p, shape, data] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "ort.InferenceSession.create(p).then(s => s.run({input: new ort.Tensor('float32', Float32Array.from(data.map(v => v === null ? NaN : v)), shape)}))"
        ".then(r => process.stdout.write(JSON.stringify(Array.from(r.probabilities.data))));"
    )
    payload = json.dumps([path, list(x.shape), [None if np.isnan(v) else float(v) for v in x.reshape(-1)]])
    out = subprocess.run(["node", "-e", script], input=payload, capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return np.asarray(json.loads(out.stdout)).reshape(x.shape[0], -1)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_export_is_valid_onnx_with_a_variable_batch(kind, tmp_path):
    m = make(kind)
    path = str(tmp_path / f"{kind}.onnx")
    nets.export(m, K, N_INPUTS, path)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) <= 15
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    ops = {n.op_type for n in model.graph.node}
    assert "IsNaN" in ops and "Gather" in ops
    if not node_ort_available():
        pytest.skip("onnxruntime-node not installed (npm install)")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, K, N_INPUTS)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    want = nets.predict(m, x)
    got = run_in_node(path, x)
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(got.sum(axis=1), 1, atol=1e-5)
