import pickle

import numpy as np
import pytest
import sklearn
import torch
from _configs import tiny_ae, tiny_contrastive, tiny_mel
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd._net import _ASDNet
from sklearn_asd.augment import (
    AugmentationChain,
    FrameShift,
    Mixup,
    RandomMedianFilter,
    TimeMask,
)
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram, MedianFilter
from sklearn_asd.metrics import pauc_scorer
from sklearn_asd.models import MobileNetV2

N_MELS = 8
N_FRAMES = 20
PARAMS = tiny_contrastive(N_MELS, last_channel=16, max_epochs=2)
AE_PARAMS = tiny_ae(N_MELS, max_epochs=2)
MEL_PARAMS = tiny_mel(N_MELS)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _det(**params):
    return ContrastiveASDEstimator(**{**PARAMS, **params})


def _ae(**params):
    return AutoencoderBaseline(**{**AE_PARAMS, **params})


def _X(n_clips=12, n_frames=N_FRAMES, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_clips, N_MELS * n_frames)).astype(np.float32)


def _sectioned(n_clips=12, n_sections=2, seed=0):
    """Random spectrograms whose sections differ by a level offset."""
    X = _X(n_clips, seed=seed)
    labels = np.array([f"s{i}" for i in range(n_sections)], dtype=object)
    sections = labels[np.arange(n_clips) % n_sections]
    X += 2.0 * (np.arange(n_clips) % n_sections)[:, None].astype(np.float32)
    return X, sections


@pytest.fixture(scope="module")
def sounds():
    return make_machine_sounds(
        n_normal=8, n_anomalous=4, n_sections=2, duration=0.5, random_state=0
    )


def _pipeline(**det_params):
    return Pipeline(
        [
            ("mel", LogMelSpectrogram(**MEL_PARAMS)),
            ("mf", MedianFilter(kernel_size=(1, 3), n_mels=N_MELS)),
            ("det", _det(**det_params)),
        ]
    )


# ----------------------------------------------------------------------- signs
@pytest.mark.parametrize("n_sections", [1, 2])
def test_signs_follow_isolation_forest(n_sections):
    """Check that score_samples, decision_function and predict are consistent."""
    X, sections = _sectioned(n_sections=n_sections)
    det = _det().fit(X, sections=sections)
    anomaly = det.anomaly_score(X, sections=sections)
    normality = det.score_samples(X, sections=sections)
    decision = det.decision_function(X, sections=sections)
    labels = det.predict(X, sections=sections)
    for scores in (anomaly, normality, decision):
        assert scores.dtype == np.float64
        assert scores.shape == (X.shape[0],)
        assert np.isfinite(scores).all()
    np.testing.assert_array_equal(normality, -anomaly)
    np.testing.assert_array_equal(decision, normality - det.offset_)
    assert set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))
    np.testing.assert_array_equal(
        det.fit_predict(X, sections=sections), det.predict(X, sections=sections)
    )


def test_predict_zero_decision_is_normal():
    """Check that a clip exactly at the threshold is predicted normal (+1)."""
    X = _X()
    det = _det().fit(X)
    normality = det.score_samples(X)
    det.offset_ = float(normality[0])
    assert det.decision_function(X)[0] == 0.0
    labels = det.predict(X)
    assert labels[0] == 1
    assert (labels[normality < normality[0]] == -1).all()


def test_contamination_float_sets_fraction_of_training_outliers():
    """Check that contamination=0.25 flags about a quarter of the training clips."""
    X = _X(n_clips=20)
    det = _det(contamination=0.25).fit(X)
    assert det.score_branch_ == "ae"  # one section: scores vary from clip to clip
    fraction = np.mean(det.predict(X) == -1)
    assert abs(fraction - 0.25) <= 1 / 20
    assert np.mean(_det(contamination=0.5).fit(X).predict(X) == -1) == 0.5


def test_contamination_auto_sets_finite_offset():
    """Check that contamination='auto' gives a finite threshold above the median."""
    X = _X(n_clips=20)
    det = _det(contamination="auto").fit(X)
    assert np.isfinite(det.offset_)
    train_anomaly = det.anomaly_score(X)
    # gamma 0.9 quantile: a threshold above the typical training score
    assert -det.offset_ > np.median(train_anomaly)
    assert np.mean(det.predict(X) == -1) < 0.5


# ---------------------------------------------------------------------- labels
def test_fit_with_labels_excludes_anomalies():
    """Check that clips labelled 1 are left out exactly as if absent."""
    X_normal, sections_normal = _sectioned(n_clips=12)
    X_anomalous, sections_anomalous = _sectioned(n_clips=4, seed=1)
    X_anomalous += 50.0  # extreme: would shift the standardisation if used
    X = np.r_[X_normal, X_anomalous]
    sections = np.r_[sections_normal, sections_anomalous]
    y = np.r_[np.zeros(12, dtype=int), np.ones(4, dtype=int)]

    with_labels = _det().fit(X, y, sections=sections)
    normals_only = _det().fit(X_normal, sections=sections_normal)
    everything = _det().fit(X, sections=sections)

    expected = normals_only.anomaly_score(X, sections=sections)
    np.testing.assert_array_equal(
        with_labels.anomaly_score(X, sections=sections), expected
    )
    assert with_labels.offset_ == normals_only.offset_
    assert with_labels.feature_mean_ == normals_only.feature_mean_
    assert not np.allclose(everything.anomaly_score(X, sections=sections), expected)


def test_fit_with_negative_labels_raises():
    """Check that scikit-learn's -1 labels raise a ValueError about the convention."""
    X = _X()
    y = np.where(np.arange(12) < 10, 1, -1)
    with pytest.raises(ValueError, match="DCASE convention"):
        _det().fit(X, y)


def test_fit_with_wrong_number_of_labels_raises():
    """Check that y of the wrong length raises a ValueError."""
    with pytest.raises(ValueError, match="5 labels for 12 samples"):
        _det().fit(_X(), np.zeros(5))


def test_fit_with_only_anomalies_raises():
    """Check that y with only anomalies leaves nothing to train on and raises."""
    with pytest.raises(ValueError, match=r"all 12 sample.*labelled 1"):
        _det().fit(_X(), np.ones(12))


def test_fit_ignores_domains():
    """Check that domains do not change the trained model."""
    X, sections = _sectioned()
    domains = np.where(np.arange(12) % 3 == 0, "target", "source")
    a = _det().fit(X, sections=sections, domains=domains)
    b = _det().fit(X, sections=sections)
    np.testing.assert_array_equal(
        a.anomaly_score(X, sections=sections), b.anomaly_score(X, sections=sections)
    )


# -------------------------------------------------------------------- sections
def test_classes_are_sorted_sections():
    """Check that classes_ holds the sorted unique sections."""
    X, sections = _sectioned(n_sections=3)
    order = np.array(["s2", "s0", "s1"], dtype=object)
    sections = order[np.arange(12) % 3]
    det = _det().fit(X, sections=sections)
    assert det.classes_.tolist() == ["s0", "s1", "s2"]
    assert det.sections_.tolist() == ["s0", "s1", "s2"]
    assert det.score_branch_ == "cnn"


def test_classes_of_integer_sections_are_numerically_sorted():
    """Check that integer sections are sorted numerically, like np.unique."""
    X = _X()
    sections = np.where(np.arange(12) % 2 == 0, 2, 10)
    det = _det().fit(X, sections=sections)
    assert det.classes_.tolist() == [2, 10]


def test_unknown_section_at_score_time_raises():
    """Check that scoring with a section unseen in fit names it in the error."""
    X, sections = _sectioned()
    det = _det().fit(X, sections=sections)
    bad = sections.copy()
    bad[3] = "pump-07"
    with pytest.raises(ValueError, match=r"unknown section.*pump-07"):
        det.anomaly_score(X, sections=bad)
    with pytest.raises(ValueError, match="pump-07"):
        det.predict(X, sections=bad)


def test_no_sections_uses_best_matching_class():
    """Check that sections=None scores each clip against its best class."""
    X, sections = _sectioned(n_sections=3)
    det = _det().fit(X, sections=sections)
    n = X.shape[0]
    per_class = np.column_stack(
        [det.anomaly_score(X, sections=[c] * n) for c in det.classes_]
    )
    np.testing.assert_array_equal(det.anomaly_score(X), per_class.min(axis=1))
    # the own-section score is one of the columns and never below the best match
    own = det.anomaly_score(X, sections=sections)
    assert (own >= det.anomaly_score(X)).all()
    assert not np.array_equal(per_class[:, 0], per_class[:, 1])


@pytest.mark.parametrize("method", ["anomaly_score", "decision_function", "predict"])
def test_sections_of_wrong_length_raise(method):
    """Check that sections with the wrong number of labels raise a ValueError."""
    X, sections = _sectioned()
    det = _det().fit(X, sections=sections)
    with pytest.raises(ValueError, match="one label per clip"):
        getattr(det, method)(X, sections=sections[:-1])
    with pytest.raises(ValueError, match="one label per clip"):
        _det().fit(X, sections=sections[:5])


def test_one_section_scores_with_autoencoder_branch():
    """Check that a single section falls back to finite, varying AE scores."""
    X = _X()
    det = _det().fit(X, sections=["only"] * 12)
    assert det.score_branch_ == "ae"
    assert det.classes_.tolist() == ["only"]
    scores = det.anomaly_score(X)
    assert np.isfinite(scores).all()
    assert np.ptp(scores) > 0
    np.testing.assert_array_equal(scores, det.anomaly_score(X, sections=["only"] * 12))


def test_cnn_score_branch_with_one_section_raises():
    """Check that score_branch='cnn' with one section raises a ValueError."""
    with pytest.raises(ValueError, match="score_branch='cnn' needs at least two"):
        _det(score_branch="cnn").fit(_X())


def test_failed_fit_leaves_estimator_unfitted():
    """Check that a fit rejected for one section leaves the estimator unfitted."""
    det = _det(score_branch="cnn")
    with pytest.raises(ValueError, match="at least two sections"):
        det.fit(_X())
    with pytest.raises(NotFittedError):
        check_is_fitted(det)


def test_cnn_only_needs_two_sections():
    """Check that branches='cnn' with one section raises a ValueError."""
    with pytest.raises(ValueError, match="at least two sections"):
        _det(branches="cnn").fit(_X())


def test_cnn_only_is_a_plain_mobilenetv2():
    """Check that branches='cnn' trains a MobileNetV2 without AE or heads."""
    X, sections = _sectioned()
    det = _det(branches="cnn").fit(X, sections=sections)
    module = det.net_.module_
    assert isinstance(module, MobileNetV2)
    for name in ("ae", "proj_cnn", "proj_ae", "cnn"):
        assert not hasattr(module, name)
    assert det.score_branch_ == "cnn"
    last = det.history_[-1]
    assert "train_ce" in last
    assert "train_recon" not in last and "train_con" not in last
    scores = det.anomaly_score(X, sections=sections)
    assert np.isfinite(scores).all()
    dual = _det().fit(X, sections=sections)
    assert hasattr(dual.net_.module_, "ae")
    assert not np.array_equal(scores, dual.anomaly_score(X, sections=sections))


def test_cnn_only_rejects_ae_score_branch():
    """Check that branches='cnn' with score_branch='ae' raises a ValueError."""
    X, sections = _sectioned()
    with pytest.raises(ValueError, match="needs branches='dual'"):
        _det(branches="cnn", score_branch="ae").fit(X, sections=sections)


def test_score_does_not_depend_on_other_clips():
    """Check that a clip's score is the same alone and in a large batch."""
    X, sections = _sectioned(n_clips=40)  # > 1 scoring chunk of 128 patches
    for sec in (sections, None):
        det = _det().fit(X[:12], sections=sections[:12])
        s = None if sec is None else sec
        full = det.anomaly_score(X, sections=s)
        for i in (0, 5, 33, 39):
            alone = det.anomaly_score(
                X[i : i + 1], sections=None if s is None else s[i : i + 1]
            )
            assert alone[0] == full[i]


# ------------------------------------------------- determinism and persistence
@pytest.mark.parametrize("n_sections", [1, 2])
def test_same_random_state_gives_same_scores(n_sections):
    """Check that fits with one random_state agree and other seeds differ."""
    X, sections = _sectioned(n_sections=n_sections)
    a = _det(random_state=0).fit(X, sections=sections).anomaly_score(X)
    b = _det(random_state=0).fit(X, sections=sections).anomaly_score(X)
    c = _det(random_state=1).fit(X, sections=sections).anomaly_score(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_torch_rng_alone():
    """Check that fit does not consume or reseed the global torch RNG."""
    X = _X()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _det().fit(X)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


@pytest.mark.parametrize("make", [_det, _ae], ids=["contrastive", "autoencoder"])
def test_pickle_and_clone_give_identical_scores(make):
    """Check that pickling and clone-and-refit reproduce the scores exactly."""
    X, sections = _sectioned()
    det = make().fit(X, sections=sections)
    expected = det.decision_function(X, sections=sections)
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(
        restored.decision_function(X, sections=sections), expected
    )
    refit = clone(det).fit(X, sections=sections)
    np.testing.assert_array_equal(
        refit.decision_function(X, sections=sections), expected
    )
    other = make(random_state=3).fit(X, sections=sections)
    assert not np.array_equal(other.decision_function(X, sections=sections), expected)


# ------------------------------------------------------------------- bad input
def test_nan_rows_raise_at_fit_and_score():
    """Check that non-finite rows raise a ValueError naming the row."""
    X = _X()
    bad = X.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity in row\(s\) 3\b"):
        _det().fit(bad)
    det = _det().fit(X)
    bad[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"row\(s\) 3, 7\b"):
        det.anomaly_score(bad)
    with pytest.raises(ValueError, match=r"row\(s\) 3, 7\b"):
        det.predict(bad)


def test_wrong_number_of_features_at_score_raises():
    """Check that scoring clips of another length raises a ValueError."""
    det = _det().fit(_X())
    with pytest.raises(ValueError, match=r"X has 80 features.*expecting 160"):
        det.anomaly_score(_X(n_frames=10))


def test_features_not_multiple_of_n_mels_raise():
    """Check that n_features not divisible by n_mels raises a ValueError."""
    with pytest.raises(ValueError, match="not a multiple of 8"):
        _det().fit(_X()[:, :-1])


def test_clips_shorter_than_patch_raise():
    """Check that clips shorter than patch_frames raise a ValueError."""
    with pytest.raises(ValueError, match="fewer than patch_frames=8"):
        _det().fit(_X(n_frames=7))
    with pytest.raises(ValueError, match="fewer than n_stack=5"):
        _ae().fit(_X(n_frames=4))


def test_one_dimensional_and_empty_X_raise():
    """Check that 1-D and empty inputs raise a ValueError."""
    X = _X()
    with pytest.raises(ValueError, match="Expected 2D array"):
        _det().fit(X[0])
    with pytest.raises(ValueError, match="0 sample"):
        _det().fit(X[:0])
    det = _det().fit(X)
    with pytest.raises(ValueError, match="Expected 2D array"):
        det.anomaly_score(X[0])


@pytest.mark.parametrize(
    "method", ["anomaly_score", "score_samples", "decision_function", "predict"]
)
@pytest.mark.parametrize("make", [_det, _ae], ids=["contrastive", "autoencoder"])
def test_unfitted_estimator_raises(make, method):
    """Check that scoring before fit raises NotFittedError."""
    with pytest.raises(NotFittedError):
        getattr(make(), method)(_X())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_device_without_gpu_raises():
    """Check that device='cuda' without a GPU raises a ValueError naming CUDA."""
    with pytest.raises(ValueError, match="no CUDA GPU"):
        _det(device="cuda").fit(_X())
    with pytest.raises(ValueError, match="no CUDA GPU"):
        _ae(device="cuda:0").fit(_X())


def test_invalid_device_raises():
    """Check that an unknown device string raises a ValueError."""
    with pytest.raises(ValueError, match="invalid device 'gpu0'"):
        _det(device="gpu0").fit(_X())


def test_single_short_clip_raises():
    """Check that fewer than 2 training patches raise a ValueError."""
    with pytest.raises(ValueError, match="at least 2 training patches"):
        _det().fit(_X(n_clips=1, n_frames=8))
    with pytest.raises(ValueError, match="at least 2 training patches"):
        _ae().fit(_X(n_clips=1, n_frames=5))


def test_validation_fraction_leaving_no_clip_raises():
    """Check that a validation split with no validation clip raises."""
    with pytest.raises(ValueError, match="leaves no validation or no training"):
        _det(validation_fraction=0.1).fit(_X(n_clips=3))


@pytest.mark.parametrize(
    "params, name",
    [
        ({"temperature": 0}, "temperature"),
        ({"contrastive_loss": "foo"}, "contrastive_loss"),
        ({"batch_size": 1}, "batch_size"),
        ({"contamination": 0.6}, "contamination"),
        ({"contamination": 0.0}, "contamination"),
        ({"branches": "ae"}, "branches"),
        ({"score_branch": "mbv2"}, "score_branch"),
        ({"augmentation": "mixup"}, "augmentation"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_invalid_params_raise(params, name):
    """Check that invalid hyperparameters raise InvalidParameterError in fit."""
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        _det(**params).fit(_X())


# ------------------------------------------------------- interrupted training
def _interrupt_on_call(monkeypatch, n_call):
    """Make the n-th training step raise KeyboardInterrupt (as Ctrl-C would)."""
    original = _ASDNet.train_step_single
    calls = {"n": 0}

    def train_step_single(self, batch, **fit_params):
        calls["n"] += 1
        if calls["n"] == n_call:
            raise KeyboardInterrupt
        return original(self, batch, **fit_params)

    monkeypatch.setattr(_ASDNet, "train_step_single", train_step_single)
    return calls


# 12 clips x 4 patches / batch 16 = 3 training steps per epoch: step 5 is in epoch 2


@pytest.mark.parametrize(
    "make, n_call",
    # AutoencoderBaseline: 12 clips x 16 vectors / batch 16 = 12 steps per epoch
    [(_det, 5), (_ae, 17)],
    ids=["contrastive", "autoencoder"],
)
def test_interrupted_fit_raises_and_keeps_no_net(monkeypatch, make, n_call):
    """Check that a fit interrupted in epoch 2 of 3 raises and stores no net."""
    det = make(max_epochs=3, batch_size=16)
    calls = _interrupt_on_call(monkeypatch, n_call)
    with pytest.raises(
        KeyboardInterrupt, match="interrupted after 1 of 3 finished epochs"
    ):
        det.fit(_X())
    monkeypatch.undo()
    assert calls["n"] == n_call
    for attribute in ("net_", "history_", "offset_", "n_epochs_"):
        assert not hasattr(det, attribute)
    with pytest.raises((NotFittedError, AttributeError)):
        det.anomaly_score(_X())


def test_interrupted_fit_leaves_estimator_unfitted(monkeypatch):
    """Check that an interrupted fit leaves an estimator that is not fitted."""
    det = _det(max_epochs=3)
    _interrupt_on_call(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        det.fit(_X())
    with pytest.raises(NotFittedError):
        check_is_fitted(det)
    with pytest.raises(NotFittedError):
        det.anomaly_score(_X())


def test_interrupt_in_last_epoch_is_detected(monkeypatch):
    """Check that an interrupt in the last epoch still raises KeyboardInterrupt."""
    det = _det(max_epochs=2)
    _interrupt_on_call(monkeypatch, 5)  # step 2 of 3 in epoch 2 of 2
    with pytest.raises(KeyboardInterrupt):
        det.fit(_X())
    assert not hasattr(det, "net_")


def test_interrupted_refit_keeps_previous_model_or_unfits(monkeypatch):
    """Check that an interrupted refit leaves the old model or an unfitted one."""
    X = _X()
    det = _det(max_epochs=3).fit(X)
    before = det.anomaly_score(X)
    _interrupt_on_call(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        det.fit(3.0 * _X(seed=1) + 5.0)
    monkeypatch.undo()
    try:
        check_is_fitted(det)
    except NotFittedError:
        return  # unfitted: acceptable
    np.testing.assert_array_equal(det.anomaly_score(X), before)


# -------------------------------------------------------- history and verbose
def test_history_records_loss_terms():
    """Check that history_ has one entry per epoch with every loss term."""
    det = _det(max_epochs=3).fit(*_sectioned()[:1], sections=_sectioned()[1])
    assert len(det.history_) == 3
    assert det.n_epochs_ == 3
    for key in ("train_loss", "train_ce", "train_recon", "train_con"):
        values = det.history_[:, key]
        assert len(values) == 3
        assert np.isfinite(values).all()
    assert "valid_loss" not in det.history_[-1]


def test_history_records_validation_losses():
    """Check that validation_fraction adds valid_* losses to history_."""
    X, sections = _sectioned()
    det = _det(validation_fraction=0.25).fit(X, sections=sections)
    for key in ("valid_loss", "valid_ce", "valid_recon", "valid_con"):
        assert np.isfinite(det.history_[:, key]).all()
    # three of twelve clips (4 patches each) held out, whole
    last = det.history_[-1]
    assert sum(b.get("train_batch_size", 0) for b in last["batches"]) == 9 * 4
    assert sum(b.get("valid_batch_size", 0) for b in last["batches"]) == 3 * 4


def test_verbose_prints_epoch_table(capsys):
    """Check that verbose=1 prints skorch's epoch table and verbose=0 nothing."""
    X = _X()
    _det(verbose=0).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    _det(verbose=1, max_epochs=2).fit(X)
    out = capsys.readouterr().out
    assert "epoch" in out and "train_loss" in out
    assert len([line for line in out.splitlines() if line.strip()[:1] in "12"]) >= 2


# ------------------------------------------------------ pipelines and routing
def test_pipeline_routes_sections_to_fit_and_decision_function(sounds):
    """Check that a Pipeline routes sections to the detector's fit and scoring."""
    X, sections = sounds.data, sounds.sections
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = _pipeline().fit(X, sections=sections)
        det = pipe.named_steps["det"]
        assert det.classes_.tolist() == ["00", "01"]
        routed = pipe.decision_function(X, sections=sections)
        features = pipe[:-1].transform(X)
        np.testing.assert_array_equal(
            routed, det.decision_function(features, sections=sections)
        )
        swapped = np.where(sections == "00", "01", "00")
        assert not np.array_equal(routed, pipe.decision_function(X, sections=swapped))
        np.testing.assert_array_equal(
            pipe.decision_function(X), det.decision_function(features)
        )


def test_grid_search_with_pauc_scorer_runs(sounds):
    """Check that GridSearchCV over mel/filter/detector params gives finite pAUCs."""
    X, y, sections = sounds.data, sounds.target, sounds.sections
    grid = {
        "mf__kernel_size": [(1, 3), (1, 5)],
        "det__contrastive_weight": [0.0, 0.1],
    }
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            _pipeline(),
            grid,
            scoring=pauc_scorer,
            cv=StratifiedKFold(2, shuffle=True, random_state=0),
            error_score="raise",
        )
        search.fit(X, y, sections=sections)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (4,)
    assert np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert search.best_estimator_.named_steps["det"].classes_.tolist() == ["00", "01"]


_DECISION_CALLS = []


class _RecordingDetector(ContrastiveASDEstimator):
    """ContrastiveASDEstimator that records the sections given to scoring."""

    def decision_function(self, X, *, sections=None):
        _DECISION_CALLS.append(None if sections is None else np.asarray(sections))
        return super().decision_function(X, sections=sections)


def test_grid_search_routes_test_sections_to_decision_function(sounds):
    """Check that each test fold's sections reach decision_function in a search."""
    X, y, sections = sounds.data, sounds.target, sounds.sections
    pipe = _pipeline()
    pipe.steps[-1] = ("det", _RecordingDetector(**PARAMS))
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    _DECISION_CALLS.clear()
    with sklearn.config_context(enable_metadata_routing=True):
        GridSearchCV(
            pipe,
            {"det__contrastive_weight": [0.1]},
            scoring=pauc_scorer,
            cv=cv,
            refit=False,
            error_score="raise",
        ).fit(X, y, sections=sections)
    expected = [sections[test] for _, test in cv.split(X, y)]
    assert len(_DECISION_CALLS) == len(expected)
    for got, want in zip(_DECISION_CALLS, expected):
        assert got is not None
        np.testing.assert_array_equal(got, want)


def test_pipeline_n_mels_mismatch_raises(sounds):
    """Check that det__n_mels differing from mel__n_mels raises the layout error."""
    pipe = _pipeline().set_params(det__n_mels=16)
    with (
        sklearn.config_context(enable_metadata_routing=True),
        pytest.raises(
            ValueError,
            match="ContrastiveASDEstimator has n_mels=16, but its input was produced "
            "by MedianFilter with n_mels=8",
        ),
    ):
        pipe.fit(sounds.data, sections=sounds.sections)


# --------------------------------------------------------- AutoencoderBaseline
def test_autoencoder_baseline_fits_without_sections():
    """Check that sections given to fit do not change AutoencoderBaseline."""
    X, sections = _sectioned()
    with_sections = _ae().fit(X, sections=sections)
    without = _ae().fit(X)
    np.testing.assert_array_equal(
        with_sections.anomaly_score(X), without.anomaly_score(X)
    )
    assert len(with_sections.classes_) == 1


def test_autoencoder_baseline_ignores_sections_at_score_time():
    """Check that AutoencoderBaseline gives the same scores with sections."""
    X, sections = _sectioned()
    det = _ae().fit(X, sections=sections)
    np.testing.assert_array_equal(
        det.anomaly_score(X, sections=sections), det.anomaly_score(X)
    )


def test_autoencoder_baseline_score_is_mean_frame_stack_mse():
    """Check the AE baseline score against a manual 5-frame reconstruction MSE."""
    X = _X()
    det = _ae(n_stack=5).fit(X)
    scores = det.anomaly_score(X)
    S = det._standardize(X.reshape(12, N_MELS, N_FRAMES))
    module = det.net_.module_.eval()
    for clip in (0, 7):
        vectors = np.stack(
            [S[clip, :, t : t + 5].T.reshape(-1) for t in range(N_FRAMES - 5 + 1)]
        )
        with torch.no_grad():
            x = torch.from_numpy(vectors)
            recon = module(x).numpy()
        expected = np.mean((recon - vectors) ** 2, axis=1).mean()
        np.testing.assert_allclose(scores[clip], expected, rtol=1e-5)
    assert np.ptp(scores) > 0


def test_autoencoder_baseline_is_deterministic():
    """Check that AutoencoderBaseline reproduces scores for one random_state."""
    X = _X()
    a = _ae().fit(X).anomaly_score(X)
    np.testing.assert_array_equal(_ae().fit(X).anomaly_score(X), a)
    assert not np.array_equal(_ae(random_state=1).fit(X).anomaly_score(X), a)
    assert len(_ae().fit(X).history_) == AE_PARAMS["max_epochs"]


# ---------------------------------------------------------------- augmentation
def _chain():
    return AugmentationChain(
        mixup=Mixup(p=1.0),
        time_mask=TimeMask(),
        frame_shift=FrameShift(),
        median_filter=RandomMedianFilter(),
    )


@pytest.mark.parametrize("n_sections", [1, 2])
def test_augmentation_changes_training_deterministically(n_sections):
    """Check that augmentation changes the weights, reproducibly per seed."""
    X, sections = _sectioned(n_sections=n_sections)
    plain = _det().fit(X, sections=sections)
    augmented = _det(augmentation=_chain()).fit(X, sections=sections)
    again = _det(augmentation=_chain()).fit(X, sections=sections)

    def weights(det):
        return torch.cat([p.detach().flatten() for p in det.net_.module_.parameters()])

    assert not torch.equal(weights(plain), weights(augmented))
    torch.testing.assert_close(weights(augmented), weights(again), rtol=0, atol=0)
    scores = augmented.anomaly_score(X, sections=sections)
    assert not np.array_equal(scores, plain.anomaly_score(X, sections=sections))
    np.testing.assert_array_equal(scores, again.anomaly_score(X, sections=sections))
    # scoring never augments: repeated calls agree
    np.testing.assert_array_equal(scores, augmented.anomaly_score(X, sections=sections))


def test_augmentation_nested_params():
    """Check that augmentation parameters are nested detector parameters."""
    det = _det(augmentation=_chain())
    assert det.get_params()["augmentation__mixup__alpha"] == 0.2
    det.set_params(augmentation__mixup__alpha=0.4, augmentation__time_mask__max_width=2)
    assert det.augmentation.mixup.alpha == 0.4
    assert clone(det).get_params()["augmentation__mixup__alpha"] == 0.4
    X = _X()
    det.fit(X)
    assert np.isfinite(det.anomaly_score(X)).all()
    det_b = _det(augmentation=_chain()).fit(X)
    assert not np.array_equal(det.anomaly_score(X), det_b.anomaly_score(X))


def test_validation_batch_of_one_patch_is_handled():
    """Check a last validation batch holding one patch does not break the loss.

    4 clips x 4 patches; validation_fraction=0.25 holds out 1 clip (4 patches),
    batch_size=3 leaves a last validation batch of 1 patch, where the contrastive
    term is skipped (it needs two pairs) and the other terms are recorded.
    """
    det = _det(batch_size=3, validation_fraction=0.25, max_epochs=1)
    det.fit(_X(n_clips=4), sections=["a", "b"] * 2)
    last = det.history_[-1]
    assert np.isfinite(last["valid_loss"])
    sizes = [b["valid_batch_size"] for b in last["batches"] if "valid_batch_size" in b]
    assert sizes == [3, 1]


def test_shared_scoring_equals_patches_for_one_patch_clips():
    """Check score_mode="shared" equals per-patch scoring when a clip is one patch.

    With n_frames == patch_frames there is one window covering the whole feature
    map, so pooling the shared map is exactly the per-patch forward pass.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 16 * 64)).astype(np.float32)
    sections = np.array(["a", "b"] * 4)
    X[sections == "b"] += 1.0
    det = ContrastiveASDEstimator(
        **{**PARAMS, "n_mels": 16, "patch_frames": 64, "patch_hop": 8}
    ).fit(X, sections=sections)
    patches = det.anomaly_score(X, sections=sections)
    shared = det.set_params(score_mode="shared").anomaly_score(X, sections=sections)
    np.testing.assert_allclose(shared, patches, rtol=1e-5, atol=1e-6)


def test_shared_scoring_on_long_clips_is_deterministic_and_batch_free():
    """Check shared scores of long clips are finite and independent of batching."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 8 * 100)).astype(np.float32)
    sections = np.array(["a", "b"] * 5)
    det = _det(score_mode="shared").fit(X, sections=sections)
    full = det.anomaly_score(X, sections=sections)
    assert np.isfinite(full).all()
    one = [
        det.anomaly_score(X[i : i + 1], sections=sections[i : i + 1])[0]
        for i in range(10)
    ]
    np.testing.assert_array_equal(full, one)


@pytest.mark.parametrize("branches", ["dual", "cnn"])
def test_bfloat16_mixed_precision_trains_and_scores_close(branches):
    """Check precision="bfloat16" autocasts the forward passes of fit and scoring.

    Weights stay float32; training sees bfloat16 activations (so the trained
    weights differ from a float32 fit), and scoring a float32-trained model under
    bfloat16 changes its scores only by bfloat16 rounding.
    """
    X, sections = _sectioned(n_clips=12, n_sections=2)
    f32 = _det(branches=branches).fit(X, sections=sections)
    b16 = _det(branches=branches, precision="bfloat16").fit(X, sections=sections)
    w32 = next(f32.net_.module_.parameters())
    w16 = next(b16.net_.module_.parameters())
    assert w16.dtype == torch.float32
    assert not torch.allclose(w32, w16)
    scores = b16.anomaly_score(X, sections=sections)
    assert scores.dtype == np.float64 and np.isfinite(scores).all()

    expected = f32.anomaly_score(X, sections=sections)
    f32.set_params(precision="bfloat16")
    rounded = f32.anomaly_score(X, sections=sections)
    assert not np.array_equal(rounded, expected)
    np.testing.assert_allclose(rounded, expected, rtol=0.05, atol=0.05)


def test_bfloat16_autoencoder_baseline_scores_close():
    """Check AutoencoderBaseline scores under bfloat16 autocast too."""
    X = _X()
    det = _ae().fit(X)
    expected = det.anomaly_score(X)
    rounded = det.set_params(precision="bfloat16").anomaly_score(X)
    assert not np.array_equal(rounded, expected)
    np.testing.assert_allclose(rounded, expected, rtol=0.05)


def test_degenerate_gamma_fit_falls_back_to_empirical_quantile(monkeypatch):
    """Check a gamma threshold flagging most training clips is not used."""
    from scipy import stats

    from sklearn_asd.utils._threshold import _seed_threshold

    scores = np.linspace(0.0, 1.0, 50)
    # a sane fit is kept: about 10 % of the training scores lie above it
    kept = _seed_threshold(scores)
    assert 0.02 <= np.mean(scores > kept) <= 0.2
    assert kept != np.quantile(scores, 0.9)
    # a degenerate fit (0.9 quantile below most scores) is replaced
    monkeypatch.setattr(stats.gamma, "fit", lambda s: (0.26, -0.01, 0.02))
    monkeypatch.setattr(stats.gamma, "ppf", lambda q, a, loc, scale: 0.05)
    assert _seed_threshold(scores) == np.quantile(scores, 0.9)


@pytest.mark.parametrize("make", [_det, _ae])
def test_pickle_holds_the_weights_once(make):
    """Check a fitted detector pickles without optimiser state or weight copies."""
    X, sections = _sectioned(n_clips=12, n_sections=2)
    det = make(max_epochs=1).fit(X, sections=sections)
    weights = sum(p.numel() * 4 for p in det.net_.module_.parameters())
    size = len(pickle.dumps(det))
    assert det.net_.optimizer_ is None
    # weights + BatchNorm buffers + history and metadata, not 2-4x the weights
    assert size < 1.5 * weights + 200_000, (size, weights)
