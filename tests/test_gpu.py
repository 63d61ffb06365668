"""GPU path: runs only where torch sees a CUDA device (marker ``gpu``)."""

import io
import pickle

import numpy as np
import pytest
import torch
from _configs import tiny_contrastive

from sklearn_asd import ContrastiveASDEstimator

pytestmark = pytest.mark.gpu

PARAMS = tiny_contrastive(8, last_channel=16, max_epochs=2)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 8 * 20)).astype(np.float32)
    sections = np.array(["a", "b"] * 6)
    X[sections == "b"] += 1.0
    return X, sections


def test_cuda_fit_scores_and_pickles():
    """Check a CUDA fit scores finitely and a pickle round trip keeps the scores."""
    X, sections = _data()
    det = ContrastiveASDEstimator(device="cuda", **PARAMS).fit(X, sections=sections)
    assert next(det.net_.module_.parameters()).is_cuda
    scores = det.anomaly_score(X, sections=sections)
    assert np.isfinite(scores).all()
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_allclose(restored.anomaly_score(X, sections=sections), scores)


def test_cuda_model_loads_on_cpu_when_cuda_is_hidden(monkeypatch):
    """Check a CUDA-fitted model unpickles onto the CPU where CUDA is unavailable."""
    X, sections = _data()
    det = ContrastiveASDEstimator(device="cuda", **PARAMS).fit(X, sections=sections)
    expected = det.anomaly_score(X, sections=sections)
    buffer = io.BytesIO()
    pickle.dump(det, buffer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA"):
        restored = pickle.loads(buffer.getvalue())
    assert not next(restored.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(
        restored.anomaly_score(X, sections=sections), expected, rtol=1e-4, atol=1e-5
    )


def test_cuda_bfloat16_mixed_precision():
    """Check bfloat16 autocast trains and scores on CUDA, close to float32 scoring."""
    X, sections = _data()
    det = ContrastiveASDEstimator(device="cuda", precision="bfloat16", **PARAMS)
    det.fit(X, sections=sections)
    scores = det.anomaly_score(X, sections=sections)
    assert np.isfinite(scores).all()
    full = det.set_params(precision="float32").anomaly_score(X, sections=sections)
    np.testing.assert_allclose(scores, full, rtol=0.05, atol=0.05)
