import io
import os
import pickle
import stat
import warnings

import joblib
import numpy as np
import pytest
import torch
from _configs import tiny_ae, tiny_contrastive
from sklearn.ensemble import IsolationForest

import sklearn_asd.persistence as persist
from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.persistence import atomic_open, load_model, save_model

PARAMS = tiny_contrastive(8, last_channel=16)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 8 * 20)).astype(np.float32)
    sections = np.array(["a", "b"] * 6)
    X[sections == "b"] += 1.0
    return X, sections


@pytest.fixture
def forest():
    X = np.random.default_rng(0).normal(size=(30, 3))
    return IsolationForest(n_estimators=10, random_state=0).fit(X), X


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_round_trip_keeps_model_and_metadata(forest, tmp_path):
    """Check the envelope stores versions, settings and the fitted object."""
    model, X = forest
    path = tmp_path / "model.joblib"
    info = save_model(
        model, path, machine_types=["fan"], sections=["00"], metadata={"k": 1}
    )
    restored, loaded = load_model(path, return_info=True)
    np.testing.assert_array_equal(restored.score_samples(X), model.score_samples(X))
    assert loaded == info
    assert info["format"] == "sklearn-asd-model"
    assert info["sklearn_asd_version"] == persist.__version__
    assert info["versions"]["scikit-learn"] is not None
    assert info["machine_types"] == ["fan"] and info["sections"] == ["00"]
    assert info["metadata"] == {"k": 1}
    assert info["created"].endswith("+00:00")
    assert info["estimator_class"] == "IsolationForest"
    # a plain-permission file, not mkstemp's 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()
    assert os.listdir(tmp_path) == ["model.joblib"]


def test_sections_default_to_the_classes_of_the_final_step(tmp_path):
    """Check sections come from the detector's classes_ when not given."""
    X, sections = _data()
    det = ContrastiveASDEstimator(**PARAMS).fit(X, sections=sections)
    info = save_model(det, tmp_path / "m.joblib")
    assert info["sections"] == ["a", "b"]
    assert info["features"]["ContrastiveASDEstimator"]["n_mels"] == 8
    assert info["features"]["ContrastiveASDEstimator"]["n_frames_"] == 20


def test_unfitted_models_are_not_saved(tmp_path):
    """Check an unfitted estimator is refused and nothing is written."""
    with pytest.raises(ValueError, match="refusing to save an unfitted"):
        save_model(IsolationForest(), tmp_path / "m.joblib")
    assert os.listdir(tmp_path) == []


def test_version_policy(forest, tmp_path, monkeypatch):
    """Check another major.minor raises and a patch difference warns."""
    model, _ = forest
    path = tmp_path / "m.joblib"
    monkeypatch.setattr(persist, "__version__", "0.1.0")
    save_model(model, path)
    monkeypatch.setattr(persist, "__version__", "0.2.0")
    with pytest.raises(ValueError, match=r"saved by sklearn_asd 0\.1\.0.*0\.2\.0"):
        load_model(path)
    monkeypatch.setattr(persist, "__version__", "1.1.0")
    with pytest.raises(ValueError, match=r"major\.minor"):
        load_model(path)
    monkeypatch.setattr(persist, "__version__", "0.1.3")
    with pytest.warns(UserWarning, match=r"sklearn_asd 0\.1\.0 -> 0\.1\.3"):
        load_model(path)
    monkeypatch.setattr(persist, "__version__", "0.1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)


def test_library_version_differences_warn(forest, tmp_path, monkeypatch):
    """Check a different torch version at load time is named in a warning."""
    model, _ = forest
    path = tmp_path / "m.joblib"
    save_model(model, path)
    saved = persist._library_versions()
    monkeypatch.setattr(
        persist, "_library_versions", lambda: dict(saved, torch="0.0.1")
    )
    with pytest.warns(UserWarning, match=r"torch .* -> 0\.0\.1"):
        load_model(path)


def test_files_that_are_not_models(forest, tmp_path):
    """Check missing, foreign, corrupt and newer-format files get clear errors."""
    model, _ = forest
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "missing.joblib")
    with pytest.raises(ValueError, match="is a folder"):
        load_model(tmp_path)
    text = tmp_path / "text.joblib"
    text.write_text("hello\n")
    with pytest.raises(ValueError, match="is not a sklearn-asd model file"):
        load_model(text)
    other = tmp_path / "other.joblib"
    joblib.dump(model, other)  # a bare joblib file, without the envelope
    with pytest.raises(ValueError, match="it holds a IsolationForest"):
        load_model(other)

    good = tmp_path / "good.joblib"
    save_model(model, good)
    truncated = tmp_path / "truncated.joblib"
    truncated.write_bytes(good.read_bytes()[: os.path.getsize(good) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_model(truncated)

    envelope = joblib.load(good)
    envelope["format_version"] = 99
    joblib.dump(envelope, other)
    with pytest.raises(ValueError, match="format 99"):
        load_model(other)

    envelope = joblib.load(good)
    envelope["model"] = b"garbage"
    joblib.dump(envelope, other)
    with pytest.raises(ValueError, match="cannot unpickle the model"):
        load_model(other)


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_failed_save_keeps_the_previous_file(forest, tmp_path, monkeypatch, error):
    """Check an interruption in the middle of writing leaves no partial file."""
    model, _ = forest
    path = tmp_path / "m.joblib"
    save_model(model, path, sections=["old"])
    before = path.read_bytes()
    real_dump = joblib.dump

    def failing_dump(value, target, *args, **kwargs):
        if isinstance(target, io.BytesIO):  # the payload
            return real_dump(value, target, *args, **kwargs)
        target.write(b"\x80\x04partial envelope")
        raise error("interrupted while writing")

    monkeypatch.setattr(joblib, "dump", failing_dump)
    with pytest.raises(error):
        save_model(model, path, sections=["new"])
    assert os.listdir(tmp_path) == ["m.joblib"]
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert load_model(path, return_info=True)[1]["sections"] == ["old"]


def test_atomic_open_errors(tmp_path):
    """Check bad destinations fail before anything is written."""
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_open(tmp_path / "no" / "f.txt"):
            pass
    with pytest.raises(IsADirectoryError):
        with atomic_open(tmp_path):
            pass
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "f.txt", "a"):
            pass
    assert os.listdir(tmp_path) == []


def test_cuda_device_model_loads_on_cpu(tmp_path, monkeypatch):
    """Check a detector whose net says device='cuda' loads and scores on the CPU.

    The tensors here are on the CPU (no GPU needed): this exercises the
    map_location path skorch takes when CUDA is unavailable at load time.
    """
    from skorch.exceptions import DeviceWarning

    X, sections = _data()
    det = ContrastiveASDEstimator(**PARAMS).fit(X, sections=sections)
    expected = det.anomaly_score(X, sections=sections)
    det.device = det.net_.device = "cuda"
    path = tmp_path / "m.joblib"
    save_model(det, path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning) as record:
        restored = load_model(path)
    assert any("no CUDA devices" in str(w.message) for w in record)
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_allclose(
        restored.anomaly_score(X, sections=sections), expected, rtol=1e-6
    )


@pytest.mark.gpu
def test_cuda_fitted_model_loads_on_cpu(tmp_path, monkeypatch):
    """Check a model fitted on a GPU loads through load_model where CUDA is hidden."""
    X, sections = _data()
    det = ContrastiveASDEstimator(device="cuda", **PARAMS).fit(X, sections=sections)
    expected = det.anomaly_score(X, sections=sections)
    path = tmp_path / "m.joblib"
    save_model(det, path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA"):
        restored = load_model(path)
    assert not next(restored.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(
        restored.anomaly_score(X, sections=sections), expected, rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("make", ["contrastive", "autoencoder"])
def test_pickles_naming_the_public_module_load(make, monkeypatch):
    """Check a pickle naming ``sklearn_asd.estimator.<class>`` still loads.

    Models saved before the classes moved to private modules name
    ``sklearn_asd.estimator`` in their pickle stream; the public module
    re-exports the classes, so those models load and score as before.
    """
    from sklearn_asd.estimator import AutoencoderBaseline

    X, sections = _data()
    if make == "contrastive":
        det = ContrastiveASDEstimator(**PARAMS).fit(X, sections=sections)
    else:
        det = AutoencoderBaseline(**tiny_ae(8)).fit(X)
    cls = type(det)
    # the stream as an older version wrote it
    monkeypatch.setattr(cls, "__module__", "sklearn_asd.estimator")
    data = pickle.dumps(det)
    monkeypatch.undo()
    assert b"sklearn_asd.estimator" in data
    assert cls.__module__.encode() not in data
    loaded = pickle.loads(data)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.anomaly_score(X), det.anomaly_score(X))
