"""The bad-input matrix: every public entry point x every kind of bad input.

Each table row is ``(entry point, bad input) -> (exception type, message regex)``
or a documented conversion whose result is checked. Property-based tests
(hypothesis, CI profile from conftest) cover NaN/inf at random positions, random
wrong dimensionalities and arbitrary finite waveforms (huge, tiny, constant).
"""

import copy
import csv
import io
import os
import pickle
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from _configs import CLI_TINY, tiny_ae, tiny_contrastive, tiny_mel
from _trees import write_clips
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd.cli import main
from sklearn_asd.datasets import load_dcase, make_machine_sounds
from sklearn_asd.features import (
    AudioLoader,
    BandStatistics,
    LogMelSpectrogram,
    MedianFilter,
)
from sklearn_asd.metrics import (
    auc_scorer,
    official_score,
    official_scorer,
    partial_auc_score,
    pauc_scorer,
    section_report,
)
from sklearn_asd.persistence import load_model, save_model
from sklearn_asd.scoring import score_files
from sklearn_asd.streaming import score_stream

SR = 16000
N_MELS = 16
MEL = tiny_mel(N_MELS)
N_SAMPLES = SR // 2  # 0.5-s clips
N_FRAMES = 63  # frames of a 0.5-s clip with MEL
N_FEATURES = N_MELS * N_FRAMES
TINY = tiny_contrastive(N_MELS)
TINY_AE = tiny_ae(N_MELS)
#: detector name -> (constructor, uses sections)
DETECTORS = {
    "dual": (lambda: ContrastiveASDEstimator(**TINY), True),
    "dual-score-cnn": (
        lambda: ContrastiveASDEstimator(score_branch="cnn", **TINY),
        True,
    ),
    "dual-score-ae": (
        lambda: ContrastiveASDEstimator(score_branch="ae", **TINY),
        True,
    ),
    "cnn": (lambda: ContrastiveASDEstimator(branches="cnn", **TINY), True),
    "dual-1-section": (lambda: ContrastiveASDEstimator(**TINY), False),
    "ae-baseline": (lambda: AutoencoderBaseline(**TINY_AE), False),
}
SECTION_DETECTORS = [name for name, (_, uses) in DETECTORS.items() if uses]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sounds():
    return make_machine_sounds(
        n_normal=8, n_anomalous=0, n_sections=2, duration=0.5, random_state=0
    )


@pytest.fixture(scope="module")
def spec(sounds):
    return LogMelSpectrogram(**MEL).fit_transform(sounds.data)


@pytest.fixture(scope="module")
def fitted(sounds, spec):
    """Every fitted entry point that takes an array, fitted once per module."""
    out = {
        "mel": LogMelSpectrogram(**MEL).fit(sounds.data),
        "mf": MedianFilter(n_mels=N_MELS, kernel_size=(1, 3)).fit(spec),
        "bs": BandStatistics(n_mels=N_MELS).fit(spec),
    }
    for name, (make, uses_sections) in DETECTORS.items():
        sections = sounds.sections if uses_sections else None
        out[name] = make().fit(spec, sections=sections)
    return out


def _one_line_error(status, err, command):
    """Check the CLI's usage-error contract: status 2, one line, no traceback."""
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sklearn-asd {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ============================================================================
# 1. Arrays: every array-taking entry point x every malformed array
# ============================================================================

#: entry point -> (which base array it takes, call(fitted, X))
ARRAY_ENTRY_POINTS = {
    "LogMelSpectrogram.fit": ("wave", lambda f, X: LogMelSpectrogram(**MEL).fit(X)),
    "LogMelSpectrogram.transform": ("wave", lambda f, X: f["mel"].transform(X)),
    "MedianFilter.fit": ("spec", lambda f, X: MedianFilter(n_mels=N_MELS).fit(X)),
    "MedianFilter.transform": ("spec", lambda f, X: f["mf"].transform(X)),
    "BandStatistics.fit": ("spec", lambda f, X: BandStatistics(n_mels=N_MELS).fit(X)),
    "BandStatistics.transform": ("spec", lambda f, X: f["bs"].transform(X)),
}
for _name, (_make, _) in DETECTORS.items():
    ARRAY_ENTRY_POINTS[f"{_name}.fit"] = (
        "spec",
        lambda f, X, _make=_make: _make().fit(X),
    )
    for _method in ("anomaly_score", "score_samples", "decision_function", "predict"):
        ARRAY_ENTRY_POINTS[f"{_name}.{_method}"] = (
            "spec",
            lambda f, X, _name=_name, _method=_method: getattr(f[_name], _method)(X),
        )


def _inject(value):
    def make(base):
        X = base.copy()
        X[1, 7] = value
        return X

    return make


#: bad array -> (build from the base array, exception, message regex)
BAD_ARRAYS = {
    "NaN": (_inject(np.nan), ValueError, r"NaN or infinity in row\(s\) 1:"),
    "+inf": (_inject(np.inf), ValueError, r"NaN or infinity in row\(s\) 1:"),
    "-inf": (_inject(-np.inf), ValueError, r"NaN or infinity in row\(s\) 1:"),
    "no rows": (lambda b: b[:0], ValueError, r"0 sample\(s\)"),
    "no columns": (lambda b: b[:, :0], ValueError, r"0 feature\(s\)"),
    "0-D": (lambda b: b[0, 0], ValueError, r"Expected 2D array, got scalar"),
    "1-D": (lambda b: b[0], ValueError, r"Expected 2D array, got 1D array"),
    "3-D": (lambda b: b[None], ValueError, r"Found array with dim 3"),
    "None": (lambda b: None, ValueError, r"Expected 2D array, got scalar"),
    "str": (
        lambda b: np.full(b.shape, "a"),
        ValueError,
        r"could not convert string to float",
    ),
    "object str": (
        lambda b: np.full(b.shape, "a", dtype=object),
        ValueError,
        r"could not convert string to float",
    ),
    "complex": (
        lambda b: b.astype(np.complex64),
        ValueError,
        r"Complex data not supported",
    ),
    "ragged": (
        lambda b: [b[0].tolist(), b[1, :-1].tolist()],
        ValueError,
        r"inhomogeneous shape",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
@pytest.mark.parametrize("entry", list(ARRAY_ENTRY_POINTS))
def test_malformed_arrays_raise_clear_errors(entry, bad, fitted, sounds, spec):
    """Check each entry point rejects each malformed array with a clear error."""
    kind, call = ARRAY_ENTRY_POINTS[entry]
    base = {"wave": sounds.data, "spec": spec}[kind][:3]
    build, error, pattern = BAD_ARRAYS[bad]
    with pytest.raises(error, match=pattern):
        call(fitted, build(base))


#: fitted entry point -> expected number of features
FITTED_ENTRY_POINTS = [e for e in ARRAY_ENTRY_POINTS if not e.endswith(".fit")]


@pytest.mark.parametrize("entry", FITTED_ENTRY_POINTS)
def test_wrong_feature_count_after_fit(entry, fitted, sounds, spec):
    """Check a fitted entry point names the feature count it expects."""
    kind, call = ARRAY_ENTRY_POINTS[entry]
    base = {"wave": sounds.data, "spec": spec}[kind][:3]
    X = base[:, :-N_MELS]
    with pytest.raises(
        ValueError, match=rf"X has {X.shape[1]} features, but \w+ is expecting "
    ):
        call(fitted, X)


@pytest.mark.parametrize(
    "entry",
    [e for e in ARRAY_ENTRY_POINTS if ARRAY_ENTRY_POINTS[e][0] == "spec"],
)
def test_feature_count_not_a_multiple_of_n_mels(entry, fitted, spec):
    """Check flattened spectrograms that n_mels cannot reshape are refused."""
    _, call = ARRAY_ENTRY_POINTS[entry]
    X = spec[:3, :-1]
    with pytest.raises(ValueError, match=r"not a multiple of 16|expecting"):
        call(fitted, X)


UNFITTED = {
    "LogMelSpectrogram.transform": lambda X: LogMelSpectrogram(**MEL).transform(X),
    "MedianFilter.transform": lambda X: MedianFilter(n_mels=N_MELS).transform(X),
    "BandStatistics.transform": lambda X: BandStatistics(n_mels=N_MELS).transform(X),
    "AudioLoader.transform": lambda X: AudioLoader().transform(["a.wav"]),
}
for _name, (_make, _) in DETECTORS.items():
    for _method in ("anomaly_score", "score_samples", "decision_function", "predict"):
        UNFITTED[f"{_name}.{_method}"] = lambda X, _make=_make, _method=_method: (
            getattr(_make(), _method)(X)
        )


@pytest.mark.parametrize("entry", list(UNFITTED))
def test_unfitted_entry_points_raise_not_fitted(entry, spec):
    """Check scoring or transforming before fit raises NotFittedError."""
    with pytest.raises(NotFittedError, match="not fitted yet"):
        UNFITTED[entry](spec[:2])


#: numeric dtypes scikit-learn converts (documented conversion): -> float32
CONVERTED_DTYPES = {
    "bool": lambda X: X > np.median(X),
    "int16": lambda X: np.round(X).astype(np.int16),
    "int64": lambda X: np.round(X).astype(np.int64),
    "object floats": lambda X: X.astype(object),
}


@pytest.mark.parametrize("dtype", list(CONVERTED_DTYPES))
@pytest.mark.parametrize(
    "entry",
    [
        "LogMelSpectrogram.transform",
        "MedianFilter.transform",
        "BandStatistics.transform",
        "dual.anomaly_score",
        "ae-baseline.anomaly_score",
    ],
)
def test_numeric_dtypes_are_converted_like_float32(entry, dtype, fitted, sounds, spec):
    """Check bool/int/object-of-float input gives the float32 input's result."""
    kind, call = ARRAY_ENTRY_POINTS[entry]
    base = {"wave": sounds.data * 100, "spec": spec}[kind][:3]
    X = CONVERTED_DTYPES[dtype](base)
    expected = call(fitted, np.asarray(X, dtype=np.float32))
    got = call(fitted, X)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, expected)


# ============================================================================
# 2. Detectors: labels, sections, clip lengths, extreme values
# ============================================================================

#: bad fit argument -> (kwargs builder (spec, sections) -> dict, regex)
BAD_FIT = {
    "y +1/-1": (
        lambda X, s: {"y": np.where(np.arange(len(X)) % 4 == 0, -1, 1)},
        r"DCASE convention, 0 = normal and 1 = anomalous",
    ),
    "y all anomalous": (
        lambda X, s: {"y": np.ones(len(X))},
        r"all 8 sample\(s\) are labelled 1",
    ),
    "y strings": (
        lambda X, s: {"y": np.array(["normal"] * len(X))},
        r"y must hold numeric labels",
    ),
    "y NaN": (
        lambda X, s: {"y": np.r_[np.zeros(len(X) - 1), np.nan]},
        r"y contains NaN",
    ),
    "y None": (
        lambda X, s: {"y": np.array([0] * (len(X) - 1) + [None], dtype=object)},
        r"missing \(None\) labels",
    ),
    "y complex": (
        lambda X, s: {"y": np.zeros(len(X), dtype=complex)},
        r"Complex data not supported",
    ),
    "y 2-D": (lambda X, s: {"y": np.zeros((len(X), 2))}, r"1d array"),
    "y length": (lambda X, s: {"y": np.zeros(5)}, r"y has 5 labels for 8 samples"),
}
BAD_SECTIONS = {
    "sections length": (
        lambda X, s: {"sections": s[:5]},
        r"one label per clip: got shape \(5,\) for 8 clips",
    ),
    "sections 2-D": (
        lambda X, s: {"sections": np.c_[s, s]},
        r"one label per clip: got shape \(8, 2\)",
    ),
    "sections scalar": (
        lambda X, s: {"sections": "00"},
        r"one label per clip: got shape \(\)",
    ),
    "sections NaN": (
        lambda X, s: {"sections": np.r_[np.zeros(len(X) - 1), np.nan]},
        r"missing labels \(None or NaN\) at position\(s\) \[7\]",
    ),
    "sections None": (
        lambda X, s: {"sections": [*s[:-1], None]},
        r"missing labels \(None or NaN\) at position\(s\) \[7\]",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_FIT))
@pytest.mark.parametrize("detector", list(DETECTORS))
def test_bad_labels_in_fit(detector, bad, spec, sounds):
    """Check fit refuses bad y (the DCASE 0/1 convention) before training."""
    make, uses_sections = DETECTORS[detector]
    build, pattern = BAD_FIT[bad]
    kwargs = build(spec, sounds.sections)
    if uses_sections:
        kwargs.setdefault("sections", sounds.sections)
    det = make()
    with pytest.raises(ValueError, match=pattern):
        det.fit(spec, **kwargs)
    assert not hasattr(det, "net_")


@pytest.mark.parametrize("bad", list(BAD_SECTIONS))
@pytest.mark.parametrize("detector", SECTION_DETECTORS)
def test_bad_sections_in_fit(detector, bad, spec, sounds):
    """Check fit refuses sections of the wrong shape or with missing labels."""
    make, _ = DETECTORS[detector]
    build, pattern = BAD_SECTIONS[bad]
    with pytest.raises(ValueError, match=pattern):
        make().fit(spec, **build(spec, sounds.sections))


@pytest.mark.parametrize("bad", list(BAD_SECTIONS))
@pytest.mark.parametrize("detector", SECTION_DETECTORS)
def test_bad_sections_at_score_time(detector, bad, fitted, spec, sounds):
    """Check scoring refuses sections of the wrong shape or with missing labels."""
    build, pattern = BAD_SECTIONS[bad]
    with pytest.raises(ValueError, match=pattern):
        fitted[detector].anomaly_score(spec, **build(spec, sounds.sections))


@pytest.mark.parametrize("method", ["anomaly_score", "decision_function", "predict"])
@pytest.mark.parametrize("detector", SECTION_DETECTORS)
def test_unseen_sections_at_score_time(detector, method, fitted, spec):
    """Check a section the detector was not trained on is named in the error."""
    sections = ["00"] * (len(spec) - 1) + ["07"]
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['07'\].*\['00', "):
        getattr(fitted[detector], method)(spec, sections=sections)


def test_autoencoder_baseline_ignores_sections(fitted, spec):
    """Check AutoencoderBaseline documents and keeps ignoring sections."""
    det = fitted["ae-baseline"]
    np.testing.assert_array_equal(
        det.anomaly_score(spec, sections=["unseen"] * len(spec)),
        det.anomaly_score(spec),
    )


#: detector -> message when clips are shorter than one patch / frame stack
TOO_SHORT = {
    "dual": r"clips have 4 frames, fewer than patch_frames=8",
    "dual-score-cnn": r"clips have 4 frames, fewer than patch_frames=8",
    "dual-score-ae": r"clips have 4 frames, fewer than patch_frames=8",
    "cnn": r"clips have 4 frames, fewer than patch_frames=8",
    "dual-1-section": r"clips have 4 frames, fewer than patch_frames=8",
    "ae-baseline": r"clips have 4 frames, fewer than n_stack=5",
}


@pytest.mark.parametrize("detector", list(DETECTORS))
def test_clips_too_short_for_the_patch_size(detector, spec, sounds):
    """Check clips shorter than a patch (or frame stack) fail before training."""
    make, uses_sections = DETECTORS[detector]
    X = spec.reshape(8, N_MELS, N_FRAMES)[:, :, :4].reshape(8, -1)
    sections = sounds.sections if uses_sections else None
    with pytest.raises(ValueError, match=TOO_SHORT[detector]):
        make().fit(X, sections=sections)


@pytest.mark.parametrize("detector", ["dual", "cnn", "dual-1-section"])
def test_a_single_patch_is_not_enough_to_train(detector, spec, sounds):
    """Check one clip of exactly one patch is refused (BatchNorm needs two)."""
    make, uses_sections = DETECTORS[detector]
    X = spec.reshape(8, N_MELS, N_FRAMES)[:1, :, :8].reshape(1, -1)
    sections = sounds.sections[:1] if uses_sections else None
    with pytest.raises(ValueError, match=r"needs at least 2 training patches"):
        make().fit(X, sections=sections)


@pytest.mark.parametrize(
    ("params", "two_sections", "pattern"),
    [
        (
            {"score_branch": "cnn"},
            False,
            r"score_branch='cnn' needs at least two sections",
        ),
        (
            {"branches": "cnn"},
            False,
            r"branches='cnn' .* needs at least two sections",
        ),
        (
            {"branches": "cnn", "score_branch": "ae"},
            True,
            r"score_branch='ae' needs branches='dual'",
        ),
    ],
)
def test_branch_settings_that_cannot_work(params, two_sections, pattern, spec, sounds):
    """Check CNN scoring on one section, or AE scoring without AE, is refused."""
    sections = sounds.sections if two_sections else None
    det = ContrastiveASDEstimator(**TINY, **params)
    with pytest.raises(ValueError, match=pattern):
        det.fit(spec, sections=sections)
    assert not hasattr(det, "net_")


def test_single_section_falls_back_to_the_autoencoder_branch(fitted, spec):
    """Check one section is the documented AE-branch fallback, not an error."""
    det = fitted["dual-1-section"]
    assert det.score_branch_ == "ae"
    assert np.isfinite(det.anomaly_score(spec)).all()
    switched = copy.deepcopy(det).set_params(score_branch="cnn")
    with pytest.raises(ValueError, match=r"score_branch='cnn' needs at least two"):
        switched.anomaly_score(spec)


@pytest.mark.parametrize("stage", ["fit", "score"])
@pytest.mark.parametrize("detector", list(DETECTORS))
def test_values_beyond_float32_range(detector, stage, fitted, spec, sounds):
    """Check finite float64 values that overflow float32 are named as such."""
    make, uses_sections = DETECTORS[detector]
    X = spec.astype(np.float64)
    X[2, 5] = 1e300
    sections = sounds.sections if uses_sections else None
    with pytest.raises(ValueError, match=r"beyond the float32 range .* row\(s\) 2:"):
        if stage == "fit":
            make().fit(X, sections=sections)
        else:
            fitted[detector].anomaly_score(X)


@pytest.mark.parametrize("scale", [1e20, 1e30, 3e38])
@pytest.mark.parametrize("detector", list(DETECTORS))
def test_huge_features_never_give_silent_non_finite_scores(
    detector, scale, fitted, spec
):
    """Check huge features give finite scores or a ValueError naming the rows."""
    X = np.sign(spec[:3]) * np.float32(scale)
    det = fitted[detector]
    try:
        scores = det.anomaly_score(X)
    except ValueError as exc:
        assert re.search(r"non-finite anomaly scores for row\(s\) 0, 1, 2", str(exc))
    else:
        assert np.isfinite(scores).all()
        assert np.isfinite(det.decision_function(X)).all()


@pytest.mark.parametrize("detector", ["dual-score-ae", "dual-1-section", "ae-baseline"])
def test_autoencoder_scores_of_huge_features_stay_finite(detector, fitted, spec):
    """Check reconstruction errors of 1e30-scaled features do not overflow.

    The squared errors exceed float32's range; they are recomputed in float64
    (before: inf scores and an all-anomalous prediction without any warning).
    """
    det = fitted[detector]
    scores = det.anomaly_score(spec[:3] * np.float32(1e30))
    assert np.isfinite(scores).all()
    assert (scores > det.anomaly_score(spec[:3])).all()


@pytest.mark.parametrize("value", [0.0, -156.5, 30.0])
@pytest.mark.parametrize("detector", list(DETECTORS))
def test_constant_training_features(detector, value, spec, sounds):
    """Check constant spectrograms (silence, DC) train and give finite scores."""
    make, uses_sections = DETECTORS[detector]
    X = np.full_like(spec, value)
    sections = sounds.sections if uses_sections else None
    det = make().fit(X, sections=sections)
    assert np.isfinite(det.offset_)
    assert np.isfinite(det.anomaly_score(X)).all()
    assert np.isfinite(det.anomaly_score(spec)).all()


# ============================================================================
# 3. Features: huge, tiny and constant waveforms and spectrograms
# ============================================================================


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e20, 1e30, 1e37])
def test_log_mel_of_huge_waveforms_is_finite_and_exact(scale, dtype, sounds):
    """Check huge amplitudes give the shifted log-mel, not NaN.

    log-mel(a * y) = log-mel(y) + 20 log10(a) while no bin hits the eps floor.
    Before: the float32 power spectrum overflowed and every value was NaN.
    """
    y = sounds.data[:2].astype(np.float64)
    mel = LogMelSpectrogram(**MEL)
    reference = mel.fit_transform(y) + 20 * np.log10(scale)
    out = mel.fit_transform((y * scale).astype(dtype))
    assert out.dtype == dtype
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, reference, atol=1e-3 * 20 * np.log10(scale))


def test_log_mel_of_float64_waveforms_beyond_1e150():
    """Check float64 waveforms whose power overflows float64 are rescaled too."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal((2, N_SAMPLES))
    mel = LogMelSpectrogram(**MEL)
    out = mel.fit_transform(y * 1e300)
    np.testing.assert_allclose(out, mel.fit_transform(y) + 6000, rtol=1e-9)


@pytest.mark.parametrize("value", [0.0, 1e-30, 0.5, -1.0])
def test_log_mel_of_constant_waveforms(value):
    """Check silence and DC give finite dB values bounded by the eps floor."""
    out = LogMelSpectrogram(**MEL).fit_transform(np.full((2, N_SAMPLES), value))
    assert np.isfinite(out).all()
    assert out.min() >= 10 * np.log10(np.finfo(float).eps) - 1e-6


@pytest.mark.parametrize("step", ["mf", "bs"])
@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float32, 1e30), (np.float32, 3e38), (np.float64, 1e300)]
)
def test_spectrogram_steps_of_huge_values_are_finite(step, dtype, scale, spec):
    """Check MedianFilter and BandStatistics never overflow to inf/NaN.

    Before: BandStatistics' std of 1e30-scale float32 values was inf (the
    squares overflow) and its mean of 3e38 values NaN.
    """
    rng = np.random.default_rng(0)
    X = (rng.uniform(-1, 1, size=spec[:3].shape) * scale).astype(dtype)
    est = (
        MedianFilter(n_mels=N_MELS)
        if step == "mf"
        else BandStatistics(n_mels=N_MELS, statistics=("mean", "std", "min", "max"))
    )
    out = est.fit_transform(X)
    assert out.dtype == dtype
    assert np.isfinite(out).all()
    if step == "bs":
        S = X.astype(np.float64).reshape(3, N_MELS, -1) / scale
        expected = np.hstack([S.mean(2), S.std(2), S.min(2), S.max(2)]) * scale
        np.testing.assert_allclose(out, expected, rtol=1e-5)


# ============================================================================
# 4. AudioLoader: files
# ============================================================================


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory):
    """Good files of every documented format and bad files of every kind."""
    root = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(SR)).astype(np.float64)
    files = {"signal": y}

    def write(name, data, sr=SR, subtype=None):
        path = root / name
        sf.write(path, data, sr, subtype=subtype)
        files[name] = str(path)

    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        write(f"{subtype}.wav", y, subtype=subtype)
    write("stereo.wav", np.c_[y, -0.5 * y], subtype="FLOAT")
    write("6ch.wav", y[:, None] * np.arange(1, 7) / 6, subtype="FLOAT")
    write("8k.wav", y[::2], sr=8000, subtype="FLOAT")
    write("44k.wav", np.resize(y, 44100), sr=44100, subtype="FLOAT")
    write("zero_length.wav", np.zeros(0))
    write("nan.wav", np.where(np.arange(SR) == 100, np.nan, y), subtype="FLOAT")
    write("huge64.wav", y * 1e300, subtype="DOUBLE")
    write("huge32.wav", y * 1e30, subtype="FLOAT")
    write("silence.wav", np.zeros(SR))
    write("dc.wav", np.full(SR, 0.5), subtype="FLOAT")
    (root / "text.wav").write_text("these are not the samples you are looking for\n")
    files["text.wav"] = str(root / "text.wav")
    (root / "empty.wav").write_bytes(b"")
    files["empty.wav"] = str(root / "empty.wav")
    raw = Path(files["PCM_16.wav"]).read_bytes()
    (root / "truncated.wav").write_bytes(raw[: len(raw) // 2])
    files["truncated.wav"] = str(root / "truncated.wav")
    (root / "header_only.wav").write_bytes(raw[:44])
    files["header_only.wav"] = str(root / "header_only.wav")
    (root / "folder.wav").mkdir()
    files["folder.wav"] = str(root / "folder.wav")
    files["missing.wav"] = str(root / "missing.wav")
    return files


#: bad file -> (AudioLoader kwargs, exception, message regex)
BAD_FILES = {
    "text.wav": ({}, ValueError, r"cannot read audio file .*text\.wav.*not a readable"),
    "empty.wav": ({}, ValueError, r"cannot read audio file .*empty\.wav"),
    "truncated.wav": (
        {},
        ValueError,
        r"truncated\.wav.*truncated: its header declares 32000 bytes of audio but "
        r"only \d+ are present",
    ),
    "header_only.wav": ({}, ValueError, r"header declares 32000 bytes .* only 0"),
    "zero_length.wav": ({}, ValueError, r"zero_length\.wav.*zero-length audio"),
    "nan.wav": ({}, ValueError, r"nan\.wav' contains NaN or infinite samples"),
    "huge64.wav": ({}, ValueError, r"huge64\.wav' holds samples beyond the float32"),
    "folder.wav": ({}, ValueError, r"expected an audio file, got a directory"),
    "missing.wav": ({}, FileNotFoundError, r"audio file not found: .*missing\.wav"),
    "stereo.wav": ({"mono": False}, ValueError, r"has 2 channels.*set mono=True"),
    "6ch.wav": ({"mono": False}, ValueError, r"has 6 channels.*set mono=True"),
}


@pytest.mark.parametrize("method", ["fit", "fit_transform", "transform"])
@pytest.mark.parametrize("name", list(BAD_FILES))
def test_audio_loader_bad_files(name, method, wav_dir):
    """Check every unreadable file raises an error naming the file."""
    kwargs, error, pattern = BAD_FILES[name]
    good = wav_dir["FLOAT.wav"]
    # fit reads a file only to learn the length (duration=None)
    duration = None if method == "fit" else 1.0
    loader = AudioLoader(duration=duration, **kwargs)
    with pytest.raises(error, match=pattern):
        if method == "transform":
            loader.fit([good]).transform([good, wav_dir[name]])
        else:
            getattr(loader, method)([wav_dir[name], good])


#: file -> (atol against the source signal, how the source is converted)
CONVERTED_FILES = {
    "PCM_U8.wav": (1 / 64, lambda y: y),
    "PCM_16.wav": (1 / 16384, lambda y: y),
    "PCM_24.wav": (1e-6, lambda y: y),
    "PCM_32.wav": (1e-7, lambda y: y),
    "FLOAT.wav": (1e-7, lambda y: y),
    "DOUBLE.wav": (1e-7, lambda y: y),
    "stereo.wav": (1e-7, lambda y: (y - 0.5 * y) / 2),
    "6ch.wav": (1e-6, lambda y: y * 3.5 / 6),
    "silence.wav": (0.0, lambda y: np.zeros_like(y)),
    "dc.wav": (0.0, lambda y: np.full_like(y, 0.5)),
    "huge32.wav": (1e23, lambda y: y * 1e30),
}


@pytest.mark.parametrize("name", list(CONVERTED_FILES))
def test_audio_loader_documented_conversions(name, wav_dir):
    """Check 8/16/24/32-bit, float, multi-channel files load as float32 mono."""
    atol, convert = CONVERTED_FILES[name]
    X = AudioLoader(duration=1.0).fit_transform([wav_dir[name]])
    assert X.shape == (1, SR) and X.dtype == np.float32
    assert np.isfinite(X).all()
    np.testing.assert_allclose(X[0], convert(wav_dir["signal"]), rtol=1e-6, atol=atol)


@pytest.mark.parametrize(("name", "rate"), [("8k.wav", 8000), ("44k.wav", 44100)])
def test_audio_loader_resamples_other_rates(name, rate, wav_dir):
    """Check files at another rate are resampled to sr as librosa does."""
    X = AudioLoader().fit_transform([wav_dir[name]])
    y, file_sr = sf.read(wav_dir[name], dtype="float32")
    assert file_sr == rate
    expected = librosa.resample(y, orig_sr=rate, target_sr=SR)
    assert X.shape == (1, expected.shape[0])
    np.testing.assert_allclose(X[0], expected, atol=1e-6)


BAD_PATH_LISTS = {
    "single str": (lambda f: f["FLOAT.wav"], TypeError, r"single path .*wrap it"),
    "single Path": (lambda f: Path(f["FLOAT.wav"]), TypeError, r"wrap it in a list"),
    "empty list": (lambda f: [], ValueError, r"empty list of file paths"),
    "2-D": (
        lambda f: [[f["FLOAT.wav"]] * 2],
        ValueError,
        r"1-D array-like of file paths .* shape \(1, 2\)",
    ),
    "None": (lambda f: None, ValueError, r"1-D array-like of file paths"),
    "ints": (lambda f: [1, 2], TypeError, r"element 0 is int"),
    "NaN": (lambda f: [f["FLOAT.wav"], np.nan], TypeError, r"element 1 is float"),
    "bytes": (lambda f: [f["FLOAT.wav"].encode()], TypeError, r"element 0 is bytes"),
    "waveforms": (
        lambda f: np.zeros((2, 100)),
        ValueError,
        r"file paths .* shape \(2, 100\)",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_PATH_LISTS))
def test_audio_loader_bad_path_lists(bad, wav_dir):
    """Check AudioLoader says what it expects when not given a list of paths."""
    build, error, pattern = BAD_PATH_LISTS[bad]
    with pytest.raises(error, match=pattern):
        AudioLoader().fit_transform(build(wav_dir))


# ============================================================================
# 5. Metrics and scorers
# ============================================================================

Y = np.array([0, 0, 1, 1, 0, 1])
S = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.5])

#: bad (y_true, y_score) -> regex
BAD_METRIC_INPUTS = {
    "only normals": (
        (np.zeros(6, int), S),
        r"(?s)(both|normal).*got only \[0\]|6 normal and 0 anomalous",
    ),
    "only anomalies": (
        (np.ones(6, int), S),
        r"(?s)got only \[1\]|0 normal and 6 anomalous",
    ),
    "+1/-1 labels": ((np.where(Y == 1, -1, 1), S), r"value\(s\) \[-1\].*\+1 inlier"),
    "label 2": ((Y * 2, S), r"only 0 \(normal\) and 1 \(anomalous\).*\[2\]"),
    "NaN label": ((np.r_[Y[:5], np.nan], S), r"value\(s\) \[nan\]"),
    "string labels": ((np.array(["n"] * 6), S), r"numeric DCASE labels .* dtype <U1"),
    "complex labels": ((Y.astype(complex), S), r"Complex data not supported"),
    "2-D labels": ((Y.reshape(2, 3), S), r"y should be a 1d array"),
    "no samples": ((np.array([], int), np.array([])), r"0 sample\(s\)|got only \[\]"),
    "NaN score": ((Y, np.r_[S[:5], np.nan]), r"y_score contains NaN"),
    "inf score": ((Y, np.r_[S[:5], np.inf]), r"y_score contains infinity"),
    "string scores": ((Y, np.array(["a"] * 6)), r"could not convert string"),
    "complex scores": (
        (Y, S.astype(complex)),
        r"Complex data not supported|returned complex values",
    ),
    "2-D scores": ((Y, np.c_[S, S]), r"y should be a 1d array"),
    "3-D scores": ((Y, S.reshape(1, 2, 3)), r"dim 3"),
    "length mismatch": ((Y, S[:4]), r"y_score has 4 samples but y_true has 6"),
}


class _FixedScores(OutlierMixin, BaseEstimator):
    """A fitted detector whose decision_function returns given values (row i)."""

    def __init__(self, values=None):
        self.values = values

    def fit(self, X, y=None):
        self.is_fitted_ = True
        return self

    def decision_function(self, X):
        return self.values


def _sections_for(y):
    n = np.shape(y)[0] if np.ndim(y) else 1
    return ["00"] * n


METRIC_ENTRY_POINTS = {
    "partial_auc_score": lambda y, s: partial_auc_score(y, s),
    "partial_auc_score raw": lambda y, s: partial_auc_score(y, s, standardized=False),
    "official_score 2021": lambda y, s: official_score(y, s, sections=_sections_for(y)),
    "official_score 2022": lambda y, s: official_score(
        y,
        s,
        sections=_sections_for(y),
        domains=(["source", "target"] * 10)[: len(_sections_for(y))],
        year=2022,
    ),
    "section_report": lambda y, s: section_report(y, s, sections=_sections_for(y)),
}
SCORERS = {"auc_scorer": auc_scorer, "pauc_scorer": pauc_scorer}
SCORERS["official_scorer"] = official_scorer
for _name, _scorer in SCORERS.items():
    METRIC_ENTRY_POINTS[_name] = lambda y, s, _scorer=_scorer: _scorer(
        _FixedScores(s).fit(None),
        np.zeros((np.shape(s)[0] if np.ndim(s) else 1, 1)),
        y,
        sections=_sections_for(s),
    )


@pytest.mark.parametrize("bad", list(BAD_METRIC_INPUTS))
@pytest.mark.parametrize("entry", list(METRIC_ENTRY_POINTS))
def test_metrics_bad_inputs(entry, bad):
    """Check metrics and scorers refuse bad labels/scores with a clear error."""
    (y, s), pattern = BAD_METRIC_INPUTS[bad]
    with pytest.raises(ValueError, match=pattern):
        METRIC_ENTRY_POINTS[entry](y, s)


@pytest.mark.parametrize("entry", list(METRIC_ENTRY_POINTS))
def test_metrics_of_huge_and_constant_scores_are_finite(entry):
    """Check 1e300-scale scores rank as usual and constant scores give 0.5."""
    value = METRIC_ENTRY_POINTS[entry](Y, S * 1e300)
    assert value == METRIC_ENTRY_POINTS[entry](Y, S)
    if not entry.startswith("section_report"):
        assert METRIC_ENTRY_POINTS[entry](Y, np.full(6, 3.0)) == pytest.approx(
            0.5 if "raw" not in entry else 0.05
        )


def test_one_class_group_is_named_by_section_and_domain():
    """Check a section/domain group with one class is named, not a NaN result."""
    sections = ["00", "00", "00", "00", "01", "01"]
    y = np.array([0, 1, 0, 1, 0, 0])
    with pytest.raises(ValueError, match=r"section '01' has 2 normal and 0 anomalous"):
        official_score(y, S, sections=sections)
    with pytest.raises(
        ValueError, match=r"section '00', domain 'target' has 0 normal and 2"
    ):
        section_report(
            [0, 0, 1, 1, 0, 1],
            S,
            sections=["00"] * 6,
            domains=["source", "source", "target", "target", "source", "source"],
        )


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (
            lambda: official_score(Y, S, sections=["00"] * 3),
            ValueError,
            r"sections has 3 labels but there are 6 samples",
        ),
        (
            lambda: official_score(Y, S, sections=np.c_[Y, Y]),
            ValueError,
            r"sections must be 1-d",
        ),
        (
            lambda: official_score(Y, S, sections=["00"] * 6, year=2022),
            ValueError,
            r"needs `domains`",
        ),
        (
            lambda: official_score(
                Y, S, sections=["00"] * 6, domains=["a"] * 6, year=2023
            ),
            ValueError,
            r"domains labelled 'source' or 'target'",
        ),
        (
            lambda: official_score(Y, S, sections=None),
            InvalidParameterError,
            r"'sections' parameter of official_score must be an array-like",
        ),
        (
            lambda: partial_auc_score(Y, S, max_fpr=0),
            InvalidParameterError,
            r"'max_fpr' parameter",
        ),
        (
            lambda: partial_auc_score(Y, S, max_fpr=np.nan),
            InvalidParameterError,
            r"'max_fpr' parameter",
        ),
        (
            lambda: partial_auc_score(1, S),
            InvalidParameterError,
            r"'y_true' parameter of partial_auc_score must be an array-like",
        ),
        (
            lambda: official_scorer(_FixedScores(S).fit(None), np.zeros((6, 1)), Y),
            ValueError,
            r"official score needs the `sections`",
        ),
        (
            lambda: auc_scorer(_FixedScores(S).fit(None), np.zeros((6, 1)), Y, foo=1),
            TypeError,
            r"accepts only the metadata \['sections', 'domains'\]",
        ),
        (
            lambda: auc_scorer(object(), np.zeros((6, 1)), Y),
            TypeError,
            r"needs an estimator with anomaly_score, decision_function or "
            r"score_samples",
        ),
        (
            lambda: pauc_scorer(IsolationForest(), np.zeros((6, 1)), Y),
            NotFittedError,
            r"not fitted yet",
        ),
    ],
)
def test_metrics_bad_metadata_and_options(call, error, pattern):
    """Check sections/domains/options of metrics and scorers are validated."""
    with pytest.raises(error, match=pattern):
        call()


# ============================================================================
# 6. Datasets
# ============================================================================


@pytest.fixture(scope="module")
def dcase_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dcase")
    (root / "fan" / "train").mkdir(parents=True)
    sf.write(
        root / "fan" / "train" / "section_00_source_train_normal_0000_a_1.wav",
        np.zeros(160),
        SR,
    )
    (root / "notes.txt").write_text("x")
    (root / "empty").mkdir()
    (root / "bad" / "fan" / "train").mkdir(parents=True)
    (root / "bad" / "fan" / "train" / "recording.wav").write_text("x")
    return root


BAD_LOAD_DCASE = {
    "missing root": (
        lambda r: {"root": r / "nope"},
        FileNotFoundError,
        r"does not exist or is not a folder",
    ),
    "file root": (
        lambda r: {"root": r / "notes.txt"},
        FileNotFoundError,
        r"does not exist or is not a folder",
    ),
    "no audio": (lambda r: {"root": r / "empty"}, ValueError, r"no \.wav or \.flac"),
    "unparsable name": (
        lambda r: {"root": r / "bad"},
        ValueError,
        r"'fan/train/recording\.wav' matches no known naming scheme",
    ),
    "int root": (lambda r: {"root": 3}, InvalidParameterError, r"'root' parameter"),
    "None root": (lambda r: {"root": None}, InvalidParameterError, r"'root'"),
    "bytes root": (
        lambda r: {"root": os.fsencode(r)},
        InvalidParameterError,
        r"'root' parameter",
    ),
    "unknown machine": (
        lambda r: {"root": r / "fan", "machine_type": "pump"},
        ValueError,
        r"unknown machine_type 'pump'.*available: \['fan'\]",
    ),
    "unknown section": (
        lambda r: {"root": r / "fan", "section": "07"},
        ValueError,
        r"unknown section '07'.*available: \['00'\]",
    ),
    "int section": (
        lambda r: {"root": r / "fan", "section": 0},
        InvalidParameterError,
        r"'section' parameter",
    ),
    "int in section list": (
        lambda r: {"root": r / "fan", "section": [0]},
        TypeError,
        r"element 0 of type int",
    ),
    "empty section list": (
        lambda r: {"root": r / "fan", "section": []},
        ValueError,
        r"non-empty list",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_LOAD_DCASE))
def test_load_dcase_bad_inputs(bad, dcase_root):
    """Check load_dcase names the bad root, file name or filter."""
    build, error, pattern = BAD_LOAD_DCASE[bad]
    with pytest.raises(error, match=pattern):
        load_dcase(**build(dcase_root))


BAD_MAKE_MACHINE_SOUNDS = {
    "duration inf": ({"duration": np.inf}, InvalidParameterError, r"'duration'"),
    "duration NaN": ({"duration": np.nan}, InvalidParameterError, r"'duration'"),
    "duration 0": ({"duration": 0}, InvalidParameterError, r"'duration'"),
    "duration tiny": ({"duration": 1e-9}, ValueError, r"fewer than 2 samples"),
    "severity NaN": ({"severity": np.nan}, InvalidParameterError, r"'severity'"),
    "severity 2": ({"severity": 2}, InvalidParameterError, r"'severity'"),
    "n_sections 0": ({"n_sections": 0}, InvalidParameterError, r"'n_sections'"),
    "n_normal -1": ({"n_normal": -1}, InvalidParameterError, r"'n_normal'"),
    "n_normal 1.5": ({"n_normal": 1.5}, InvalidParameterError, r"'n_normal'"),
    "no clips": ({"n_normal": 0, "n_anomalous": 0}, ValueError, r"at least 1"),
    "sr float": ({"sr": 16000.0}, InvalidParameterError, r"'sr'"),
    "kinds str": ({"anomaly_kinds": "click"}, InvalidParameterError, r"anomaly_kinds"),
    "kinds unknown": ({"anomaly_kinds": ["boom"]}, ValueError, r"non-empty list of"),
    "kinds empty": ({"anomaly_kinds": []}, ValueError, r"non-empty list of"),
    "random_state str": ({"random_state": "a"}, InvalidParameterError, r"random_state"),
}


@pytest.mark.parametrize("bad", list(BAD_MAKE_MACHINE_SOUNDS))
def test_make_machine_sounds_bad_parameters(bad):
    """Check the synthetic generator refuses bad parameters up front."""
    kwargs, error, pattern = BAD_MAKE_MACHINE_SOUNDS[bad]
    params = {"n_normal": 2, "n_anomalous": 1, "n_sections": 1, "duration": 0.1}
    with pytest.raises(error, match=pattern):
        make_machine_sounds(**{**params, **kwargs})


# ============================================================================
# 7. score_files, save_model/load_model, score_stream
# ============================================================================


@pytest.fixture(scope="module")
def file_pipes(sounds, tmp_path_factory):
    """Fitted path pipelines: IsolationForest and the contrastive detector."""
    root = tmp_path_factory.mktemp("train")
    paths = []
    for i, y in enumerate(sounds.data):
        paths.append(str(root / f"clip{i}.wav"))
        sf.write(paths[-1], y, SR, subtype="FLOAT")
    forest = make_pipeline(
        AudioLoader(duration=0.5),
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=N_MELS),
        IsolationForest(random_state=0),
    ).fit(paths)
    contrastive = make_pipeline(
        AudioLoader(duration=0.5),
        LogMelSpectrogram(**MEL),
        ContrastiveASDEstimator(**TINY),
    )
    X = contrastive[:-1].fit_transform(paths)
    contrastive[-1].fit(X, sections=sounds.sections)
    return paths, forest, contrastive


SCORE_FILES_BAD = {
    "text wav": (
        lambda p, w: {"paths": [p[0], w["text.wav"]]},
        ValueError,
        r"text\.wav",
    ),
    "truncated wav": (
        lambda p, w: {"paths": [w["truncated.wav"]]},
        ValueError,
        r"truncated",
    ),
    "zero-length wav": (
        lambda p, w: {"paths": [w["zero_length.wav"]]},
        ValueError,
        r"zero-length",
    ),
    "NaN wav": (lambda p, w: {"paths": [w["nan.wav"]]}, ValueError, r"NaN or infinite"),
    "missing wav": (
        lambda p, w: {"paths": [w["missing.wav"]]},
        FileNotFoundError,
        r"not found",
    ),
    "no paths": (lambda p, w: {"paths": []}, ValueError, r"no file paths"),
    "single str": (
        lambda p, w: {"paths": p[0]},
        InvalidParameterError,
        r"'paths' parameter of score_files must be an array-like",
    ),
    "int paths": (lambda p, w: {"paths": [1, 2]}, TypeError, r"element 0 is int"),
    "sections length": (
        lambda p, w: {"paths": p, "sections": ["00"]},
        ValueError,
        r"sections has 1 entries for 8 files",
    ),
    "chunk_size 0": (
        lambda p, w: {"paths": p, "chunk_size": 0},
        InvalidParameterError,
        r"'chunk_size'",
    ),
}


@pytest.mark.parametrize("pipe", ["forest", "contrastive"])
@pytest.mark.parametrize("bad", list(SCORE_FILES_BAD))
def test_score_files_bad_inputs(bad, pipe, file_pipes, wav_dir):
    """Check score_files passes on AudioLoader's file errors and its own."""
    paths, forest, contrastive = file_pipes
    pipeline = {"forest": forest, "contrastive": contrastive}[pipe]
    build, error, pattern = SCORE_FILES_BAD[bad]
    with pytest.raises(error, match=pattern):
        score_files(pipeline, **build(paths, wav_dir))


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (
            lambda p, f, c: score_files(IsolationForest(), p),
            TypeError,
            r"needs a fitted Pipeline",
        ),
        (
            lambda p, f, c: score_files(
                make_pipeline(AudioLoader(), IsolationForest()), p
            ),
            NotFittedError,
            r"not fitted",
        ),
        (
            lambda p, f, c: score_files(f, p, sections=["00"] * len(p)),
            ValueError,
            r"IsolationForest has no anomaly_score",
        ),
        (
            lambda p, f, c: score_files(c, p, sections=["09"] * len(p)),
            ValueError,
            r"unknown section\(s\) \['09'\]",
        ),
    ],
)
def test_score_files_bad_pipelines_and_sections(call, error, pattern, file_pipes):
    """Check score_files refuses other objects, unfitted pipelines, bad sections."""
    paths, forest, contrastive = file_pipes
    with pytest.raises(error, match=pattern):
        call(paths, forest, contrastive)


@pytest.mark.parametrize(
    "name", ["huge32.wav", "silence.wav", "dc.wav", "6ch.wav", "8k.wav", "PCM_U8.wav"]
)
def test_score_files_extreme_and_converted_files_score_finite(
    name, file_pipes, wav_dir
):
    """Check huge, silent, DC, multi-channel, resampled files give finite scores."""
    _, forest, contrastive = file_pipes
    for pipeline in (forest, contrastive):
        scores = score_files(pipeline, [wav_dir[name]])
        assert scores.shape == (1,) and np.isfinite(scores).all()


@pytest.fixture
def model_files(file_pipes, tmp_path):
    _, forest, _ = file_pipes
    good = tmp_path / "model.joblib"
    save_model(forest, good)
    raw = good.read_bytes()
    (tmp_path / "truncated.joblib").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.joblib").write_bytes(b"")
    (tmp_path / "notes.joblib").write_text("not a model")
    with open(tmp_path / "dict.pkl", "wb") as f:
        pickle.dump({"weights": [1, 2]}, f)
    (tmp_path / "folder.joblib").mkdir()
    return tmp_path


BAD_LOAD = {
    "text": ("notes.joblib", ValueError, r"not a sklearn-asd model file: joblib"),
    "empty": ("empty.joblib", ValueError, r"corrupt or truncated: EOFError"),
    "truncated": ("truncated.joblib", ValueError, r"corrupt or truncated"),
    "other pickle": ("dict.pkl", ValueError, r"it holds a dict"),
    "folder": ("folder.joblib", ValueError, r"is a folder, not a model file"),
    "missing": ("missing.joblib", FileNotFoundError, r"model file not found"),
    "None": (None, TypeError, r"expected str, bytes or os.PathLike"),
}


@pytest.mark.parametrize("bad", list(BAD_LOAD))
def test_load_model_bad_files(bad, model_files):
    """Check load_model refuses files that are not (intact) model files."""
    name, error, pattern = BAD_LOAD[bad]
    with pytest.raises(error, match=pattern):
        load_model(None if name is None else model_files / name)


def test_load_model_refuses_a_wav_file(wav_dir):
    """Check an audio file given as a model is a clear ValueError."""
    with pytest.raises(ValueError, match=r"PCM_16\.wav' is not a sklearn-asd model"):
        load_model(wav_dir["PCM_16.wav"])


@pytest.mark.parametrize(
    ("obj", "path", "error", "pattern"),
    [
        (IsolationForest(), "m.joblib", ValueError, r"refusing to save an unfitted"),
        (
            make_pipeline(LogMelSpectrogram(), IsolationForest()),
            "m.joblib",
            ValueError,
            r"unfitted Pipeline",
        ),
        ({"a": 1}, "m.joblib", ValueError, r"needs a fitted estimator"),
        (None, "m.joblib", ValueError, r"needs a fitted estimator"),
        (
            "fitted",
            "no/m.joblib",
            FileNotFoundError,
            r"the folder of .* does not exist",
        ),
        ("fitted", ".", IsADirectoryError, r"is a folder, not a file"),
    ],
)
def test_save_model_bad_inputs(obj, path, error, pattern, file_pipes, tmp_path):
    """Check save_model refuses unfitted objects and bad destinations."""
    if isinstance(obj, str):
        obj = file_pipes[1]
    with pytest.raises(error, match=pattern):
        save_model(obj, tmp_path / path)
    assert not (tmp_path / "m.joblib").exists()


@pytest.fixture(scope="module")
def wave_pipe(sounds):
    """A fitted pipeline that takes 0.5-s waveforms."""
    return make_pipeline(
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=N_MELS),
        IsolationForest(random_state=0),
    ).fit(sounds.data)


@pytest.fixture(scope="module")
def recording(sounds):
    return sounds.data.reshape(-1)[: 3 * N_SAMPLES + 100]


BAD_STREAMS = {
    "NaN": (
        lambda r, w: {"X": np.where(np.arange(r.size) == 8100, np.nan, r), "sr": SR},
        ValueError,
        r"NaN or infinite sample at 0\.506 s \(sample 8100",
    ),
    "inf": (
        lambda r, w: {"X": np.where(np.arange(r.size) == 16, np.inf, r), "sr": SR},
        ValueError,
        r"NaN or infinite sample at 0\.001 s",
    ),
    "empty": (lambda r, w: {"X": r[:0], "sr": SR}, ValueError, r"zero-length audio"),
    "too short": (
        lambda r, w: {"X": r[:100], "sr": SR},
        ValueError,
        r"shorter than one window .* pad_end=True",
    ),
    "2-D": (
        lambda r, w: {"X": r[:16000].reshape(2, -1), "sr": SR},
        ValueError,
        r"1-D mono waveform, got an array of shape \(2, 8000\)",
    ),
    "0-D": (lambda r, w: {"X": np.float32(1.0), "sr": SR}, ValueError, r"shape \(\)"),
    "None": (lambda r, w: {"X": None, "sr": SR}, ValueError, r"shape \(\)"),
    "int16": (
        lambda r, w: {"X": (r * 1e4).astype(np.int16), "sr": SR},
        ValueError,
        r"floating-point samples .* got dtype int16",
    ),
    "bool": (lambda r, w: {"X": r > 0, "sr": SR}, ValueError, r"got dtype bool"),
    "complex": (
        lambda r, w: {"X": r.astype(complex), "sr": SR},
        ValueError,
        r"got dtype complex128",
    ),
    "object": (
        lambda r, w: {"X": r.astype(object), "sr": SR},
        ValueError,
        r"got dtype object",
    ),
    "str blocks": (
        lambda r, w: {"X": ["a", "b"], "sr": SR},
        ValueError,
        r"block 0 of the stream holds <U1 values",
    ),
    "2-D block": (
        lambda r, w: {"X": [r[:16000].reshape(2, -1)], "sr": SR},
        ValueError,
        r"block 0 of the stream has shape \(2, 8000\)",
    ),
    "NaN block": (
        lambda r, w: {"X": [r[:9000], np.full(5, np.nan, np.float32)], "sr": SR},
        ValueError,
        r"the stream contains a NaN or infinite sample at 0\.562 s",
    ),
    "no blocks": (lambda r, w: {"X": [], "sr": SR}, ValueError, r"has 0 samples"),
    "no sr": (
        lambda r, w: {"X": r},
        ValueError,
        r"sr \(the sample rate .*\) is required",
    ),
    "sr 0": (lambda r, w: {"X": r, "sr": 0}, InvalidParameterError, r"'sr' parameter"),
    "file and sr": (
        lambda r, w: {"X": w["FLOAT.wav"], "sr": SR},
        ValueError,
        r"leave sr=None when X is a path",
    ),
    "text file": (
        lambda r, w: {"X": w["text.wav"]},
        ValueError,
        r"cannot read audio file .*text\.wav",
    ),
    "truncated file": (
        lambda r, w: {"X": w["truncated.wav"]},
        ValueError,
        r"the file is truncated",
    ),
    "zero-length file": (
        lambda r, w: {"X": w["zero_length.wav"]},
        ValueError,
        r"zero-length audio",
    ),
    "NaN file": (
        lambda r, w: {"X": w["nan.wav"]},
        ValueError,
        r"nan\.wav' contains a NaN or infinite sample at 0\.006 s",
    ),
    "missing file": (
        lambda r, w: {"X": w["missing.wav"]},
        FileNotFoundError,
        r"audio file not found",
    ),
    "hop 0": (
        lambda r, w: {"X": r, "sr": SR, "hop_length": 0},
        InvalidParameterError,
        r"'hop_length'",
    ),
    "section for a forest": (
        lambda r, w: {"X": r, "sr": SR, "section": "00"},
        ValueError,
        r"IsolationForest has no anomaly_score",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_STREAMS))
def test_score_stream_bad_inputs(bad, wave_pipe, recording, wav_dir):
    """Check score_stream refuses bad recordings with the time or file named."""
    build, error, pattern = BAD_STREAMS[bad]
    with pytest.raises(error, match=pattern):
        score_stream(wave_pipe, **build(recording, wav_dir))


def test_score_stream_multichannel_file_with_mono_false_loader(file_pipes, wav_dir):
    """Check a stereo file is refused when the pipeline's loader has mono=False."""
    paths = file_pipes[0]
    pipe = make_pipeline(
        AudioLoader(mono=False),
        LogMelSpectrogram(**MEL),
        BandStatistics(n_mels=N_MELS),
        IsolationForest(random_state=0),
    ).fit(paths)
    with pytest.raises(ValueError, match=r"has 2 channels.*mono=False"):
        score_stream(pipe, wav_dir["stereo.wav"])


@pytest.mark.parametrize(
    "make",
    [
        lambda r: r * np.float32(1e30),
        lambda r: np.zeros_like(r),
        lambda r: np.full_like(r, 0.5),
        lambda r: r.astype(np.float64),
    ],
    ids=["huge", "silence", "dc", "float64"],
)
def test_score_stream_extreme_recordings_score_finite(make, wave_pipe, recording):
    """Check huge/silent/DC recordings give finite window scores (before: NaN)."""
    result = score_stream(wave_pipe, make(recording), sr=SR)
    assert result.scores.shape == (3,)
    assert np.isfinite(result.scores).all()


# ============================================================================
# 8. CLI: train / score / evaluate exit 2 with one line, no traceback
# ============================================================================


def _cli(argv, *extra_params):
    """Run main(argv) in-process; train gets CLI_TINY overridden by extra_params."""
    params = []
    if argv[0] == "train":
        specs = dict(spec.split("=", 1) for spec in [*CLI_TINY, *extra_params])
        for name, value in specs.items():
            params += ["--param", f"{name}={value}"]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([str(a) for a in argv] + params)
    return status, out.getvalue(), err.getvalue()


def _write_2021_tree(root, sounds, test_labels=(0, 1), sabotage=None):
    """A DCASE 2021 tree: train normals and source_test clips of two sections."""
    for split, labels in (("train", (0,)), ("test", test_labels)):
        data = [
            y if not label else y + 0.05 * np.sin(np.arange(y.size) / 3)
            for label in labels
            for y in sounds.data
        ]
        clips = Bunch(
            data=data,
            target=np.repeat(labels, len(sounds.data)),
            sections=np.tile(sounds.sections, len(labels)),
            domains=["source"] * len(data),
        )
        write_clips(root, clips, split=split, sr=SR)
    if sabotage is not None:
        sabotage(sorted(Path(root, "fan", "train").glob("*.wav"))[3])
    return root


def _text(path):
    path.write_text("not audio")


def _truncate(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _zero_length(path):
    sf.write(path, np.zeros(0), SR)


def _nan(path):
    sf.write(path, np.full(N_SAMPLES, np.nan), SR, subtype="FLOAT")


@pytest.fixture(scope="module")
def cli_model(sounds, tmp_path_factory):
    """A tree and a model trained on it with the CLI."""
    base = tmp_path_factory.mktemp("cli")
    root = _write_2021_tree(base / "tree", sounds)
    model = base / "model.joblib"
    status, _, err = _cli(["train", root, "--out", model, "--quiet"])
    assert status == 0, err
    return root, model


#: sabotage of one training file -> message
BAD_TRAINING_FILES = {
    "text as wav": (_text, r"cannot read audio file .*0003\.wav"),
    "truncated wav": (_truncate, r"0003\.wav': the file is truncated"),
    "zero-length wav": (_zero_length, r"0003\.wav' holds no samples"),
    "NaN wav": (_nan, r"0003\.wav' contains NaN or infinite samples"),
}


@pytest.mark.parametrize("bad", list(BAD_TRAINING_FILES))
def test_cli_train_bad_files(bad, sounds, tmp_path):
    """Check train exits 2 naming the bad file, and saves nothing."""
    sabotage, pattern = BAD_TRAINING_FILES[bad]
    root = _write_2021_tree(tmp_path / "tree", sounds, sabotage=sabotage)
    model = tmp_path / "m.joblib"
    status, _, err = _cli(["train", root, "--out", model, "--quiet"])
    assert re.search(pattern, _one_line_error(status, err, "train"))
    assert not model.exists()


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        (["det__patch_frames=100"], r"clips have 63 frames, fewer than patch_frames"),
        (["mel__n_fft=20000"], r"reflect padding by n_fft // 2 = 10000"),
        (["load__sr=100"], r"waveforms have 50 samples"),
        (["det__branches='cnn'", "det__score_branch='ae'"], r"needs branches='dual'"),
        (["det__lr=nan"], r"'lr' parameter of ContrastiveASDEstimator"),
        (["load__duration=inf"], r"'duration' parameter of AudioLoader"),
    ],
)
def test_cli_train_settings_the_clips_cannot_meet(params, pattern, sounds, tmp_path):
    """Check clip/patch-size mismatches and bad values exit 2 before saving."""
    root = _write_2021_tree(tmp_path / "tree", sounds, test_labels=())
    model = tmp_path / "m.joblib"
    status, _, err = _cli(["train", root, "--out", model, "--quiet"], *params)
    assert re.search(pattern, _one_line_error(status, err, "train"))
    assert not model.exists()


@pytest.mark.parametrize("bad", list(BAD_TRAINING_FILES))
def test_cli_score_bad_files(bad, cli_model, tmp_path):
    """Check score exits 2 on a bad clip, for a tree and for a single file."""
    _, model = cli_model
    sabotage, pattern = BAD_TRAINING_FILES[bad]
    folder = tmp_path / "fan" / "train"
    folder.mkdir(parents=True)
    for i in range(5):
        sf.write(
            folder / f"section_00_source_train_normal_{i:04d}.wav",
            np.zeros(N_SAMPLES),
            SR,
        )
    bad_file = folder / "section_00_source_train_normal_0003.wav"
    sabotage(bad_file)
    # --split applies to the tree; a single file takes no tree options
    for target, split in ((tmp_path, ["--split", "train"]), (bad_file, [])):
        out = tmp_path / f"out_{target.name}"
        status, _, err = _cli(["score", model, target, "--out", out, *split, "--quiet"])
        assert re.search(pattern, _one_line_error(status, err, "score"))


def test_cli_score_unseen_section_and_non_audio_target(cli_model, tmp_path):
    """Check an unseen section and a non-audio target exit 2 with one line."""
    _, model = cli_model
    folder = tmp_path / "plain"
    folder.mkdir()
    sf.write(folder / "section_09_source_test_normal_0000.wav", np.zeros(N_SAMPLES), SR)
    status, _, err = _cli(["score", model, folder, "--out", tmp_path / "o1"])
    line = _one_line_error(status, err, "score")
    assert "unknown section '09'" in line and "['00', '01']" in line
    (tmp_path / "notes.txt").write_text("x")
    status, _, err = _cli(
        ["score", model, tmp_path / "notes.txt", "--out", tmp_path / "o2"]
    )
    assert "is not a .wav or .flac file" in _one_line_error(status, err, "score")


@pytest.mark.parametrize("name", ["huge32.wav", "silence.wav", "6ch.wav", "8k.wav"])
def test_cli_score_extreme_files_write_finite_scores(
    name, cli_model, wav_dir, tmp_path
):
    """Check huge, silent, 6-channel and 8 kHz files get finite scores on disk."""
    _, model = cli_model
    status, _, err = _cli(["score", model, wav_dir[name], "--out", tmp_path, "--quiet"])
    assert status == 0, err
    with open(tmp_path / "anomaly_scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and np.isfinite(float(rows[0]["score"]))


def _write_score_files(root, out, value=None):
    """Write the 2021 anomaly-score files of ``root``'s test split."""
    out.mkdir(exist_ok=True)
    for section in ("00", "01"):
        names = sorted(
            p.name
            for p in Path(root, "fan", "source_test").glob(f"section_{section}_*")
        )
        with open(
            out / f"anomaly_score_fan_section_{section}_source_test.csv", "w"
        ) as f:
            for i, name in enumerate(names):
                score = str(i) if (value is None or i != 1) else value
                f.write(f"{name},{score}\n")


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("nan", r"line 2: the score is nan"),
        ("inf", r"line 2: the score is inf"),
        ("high", r"line 2: the score 'high' is not a number"),
    ],
)
def test_cli_evaluate_bad_score_files(value, pattern, cli_model, tmp_path):
    """Check evaluate exits 2 on NaN, infinite or non-numeric scores."""
    root, _ = cli_model
    _write_score_files(root, tmp_path / "scores", value)
    status, _, err = _cli(["evaluate", root, "--scores", tmp_path / "scores"])
    assert re.search(pattern, _one_line_error(status, err, "evaluate"))


def test_cli_evaluate_single_class_split(sounds, tmp_path):
    """Check a test split without anomalies exits 2 naming the one-class group."""
    root = _write_2021_tree(tmp_path / "tree", sounds, test_labels=(0,))
    _write_score_files(root, tmp_path / "scores")
    status, _, err = _cli(["evaluate", root, "--scores", tmp_path / "scores"])
    line = _one_line_error(status, err, "evaluate")
    assert re.search(
        r"section '00', domain 'source' has 4 normal and 0 anomalous", line
    )


# ============================================================================
# 9. Properties (hypothesis; CI profile in conftest, max_examples set below)
# ============================================================================

#: entry points for properties, each with its base shape
PROPERTY_ENTRY_POINTS = [
    "LogMelSpectrogram.fit",
    "LogMelSpectrogram.transform",
    "MedianFilter.fit",
    "MedianFilter.transform",
    "BandStatistics.transform",
    "dual.fit",
    "dual.anomaly_score",
    "cnn.decision_function",
    "dual-1-section.predict",
    "ae-baseline.fit",
    "ae-baseline.score_samples",
]


@st.composite
def arrays_with_non_finite(draw):
    """(entry point, array, rows holding NaN/inf) with finite values elsewhere."""
    entry = draw(st.sampled_from(PROPERTY_ENTRY_POINTS))
    kind = ARRAY_ENTRY_POINTS[entry][0]
    n_rows = draw(st.integers(1, 12))
    n_cols = N_SAMPLES if kind == "wave" else N_FEATURES
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = 10.0 ** draw(st.integers(-20, 30))
    X = (rng.standard_normal((n_rows, n_cols)) * scale).astype(dtype)
    cells = draw(
        st.lists(
            st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_cols - 1)),
            min_size=1,
            max_size=15,
        )
    )
    for row, col in cells:
        X[row, col] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return entry, X, sorted({row for row, _ in cells})


@settings(max_examples=25)
@given(arrays_with_non_finite())
def test_property_non_finite_values_are_named_by_row(fitted, case):
    """Check NaN/inf anywhere raise a ValueError listing exactly those rows."""
    entry, X, rows = case
    shown = ", ".join(str(r) for r in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    with pytest.raises(
        ValueError, match=rf"contains NaN or infinity in row\(s\) {shown}{more}:"
    ):
        ARRAY_ENTRY_POINTS[entry][1](fitted, X)


@settings(max_examples=25)
@given(
    st.sampled_from(PROPERTY_ENTRY_POINTS),
    st.sampled_from([0, 1, 3, 4]),
    st.lists(st.integers(1, 4), min_size=4, max_size=4),
)
def test_property_wrong_dimensionality_is_refused(fitted, entry, ndim, dims):
    """Check arrays of any dimensionality but 2 raise a ValueError saying so."""
    X = np.ones(dims[:ndim], dtype=np.float32)
    with pytest.raises(
        ValueError, match=r"Expected 2D array, got (scalar|1D) array|dim \d, while dim"
    ):
        ARRAY_ENTRY_POINTS[entry][1](fitted, X)


@st.composite
def finite_waveforms(draw):
    """Finite float32 waveforms: noise, sine, impulses, constants, any scale."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.arange(N_SAMPLES) / SR
    shapes = {
        "noise": lambda: rng.standard_normal(N_SAMPLES) / 4,
        "sine": lambda: np.sin(2 * np.pi * rng.uniform(20, 7900) * t),
        "impulses": lambda: (rng.uniform(size=N_SAMPLES) > 0.999).astype(float),
        "constant": lambda: np.full(N_SAMPLES, rng.choice([-1.0, 1.0])),
        "zeros": lambda: np.zeros(N_SAMPLES),
    }
    rows = []
    for _ in range(draw(st.integers(1, 2))):
        y = shapes[draw(st.sampled_from(sorted(shapes)))]()
        scale = 10.0 ** draw(st.floats(-30, 37.5))
        rows.append(np.clip(y * scale, -3e38, 3e38))
    return np.asarray(rows, dtype=np.float32)


@settings(max_examples=20)
@given(finite_waveforms())
def test_property_finite_waveforms_give_finite_features_and_scores(fitted, waves):
    """Check any finite waveform gives finite log-mel and finite scores."""
    features = fitted["mel"].transform(waves)
    assert np.isfinite(features).all()
    assert features.min() >= 10 * np.log10(np.finfo(float).eps) - 1e-3
    assert np.isfinite(fitted["mf"].transform(features)).all()
    assert np.isfinite(fitted["bs"].transform(features)).all()
    for name in ("dual", "dual-1-section", "ae-baseline"):
        scores = fitted[name].anomaly_score(features)
        assert scores.shape == (waves.shape[0],)
        assert np.isfinite(scores).all(), name


@settings(max_examples=25)
@given(
    st.sampled_from(list(DETECTORS)),
    st.lists(st.integers(-3, 1), min_size=8, max_size=8).filter(lambda y: min(y) < 0),
)
def test_property_negative_labels_are_refused_before_training(spec, sounds, name, y):
    """Check any y with a negative label raises the DCASE-convention error."""
    make, uses_sections = DETECTORS[name]
    det = make()
    with pytest.raises(
        ValueError, match=r"negative labels: sklearn_asd uses the DCASE"
    ):
        det.fit(spec, y, sections=sounds.sections if uses_sections else None)
    assert not hasattr(det, "net_")


@settings(max_examples=25)
@given(
    st.lists(
        st.sampled_from([0, 1, -1, 2, 0.5, np.nan]), min_size=2, max_size=30
    ).filter(lambda y: any(v not in (0, 1) for v in y)),
    st.sampled_from(["partial_auc_score", "official_score 2021", "section_report"]),
)
def test_property_labels_outside_0_1_are_refused_by_metrics(y, entry):
    """Check any label other than 0/1 raises, naming the DCASE convention."""
    y = np.asarray(y, dtype=float)
    with pytest.raises(ValueError, match=r"only 0 \(normal\) and 1 \(anomalous\)"):
        METRIC_ENTRY_POINTS[entry](y, np.linspace(0, 1, y.size))
