"""KNNDetector and the shared k-NN rule (sklearn_asd.utils._neighbors)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd import KNNDetector
from sklearn_asd.metrics import auc_scorer
from sklearn_asd.utils._neighbors import knn_anomaly_scores
from sklearn_asd.utils._threshold import _seed_threshold

# 1-D training clips with a duplicated row: 0, 0, 1, 4
TRAIN = np.array([[0.0], [0.0], [1.0], [4.0]])


def _two_sections(rng, n=20):
    """Clips of section "a" around 0 and of section "b" around 50 (3 features)."""
    X = np.vstack([rng.normal(0, 1, (n, 3)), rng.normal(50, 1, (n, 3))])
    sections = np.array(["a"] * n + ["b"] * n, dtype=object)
    return X, sections


# ------------------------------------------------------------ the shared k-NN rule
@pytest.mark.parametrize(
    ("n_neighbors", "method", "expected"),
    [
        # each row's distances to the others, own row left out by position:
        # row 0: 0 (its twin), 1, 4; row 2: 1, 1, 3; row 3: 4, 4, 3
        (1, "largest", [0.0, 0.0, 1.0, 3.0]),
        (2, "largest", [1.0, 1.0, 1.0, 4.0]),
        (2, "mean", [0.5, 0.5, 1.0, 3.5]),
        (3, "mean", [5 / 3, 5 / 3, 5 / 3, 11 / 3]),
        # capped at the 3 other rows
        (10, "largest", [4.0, 4.0, 3.0, 4.0]),
        (10, "mean", [5 / 3, 5 / 3, 5 / 3, 11 / 3]),
    ],
)
def test_leave_one_out_scores_by_hand(n_neighbors, method, expected):
    """Check leave-one-out training scores on a hand-computed example.

    Without leave-one-out every row would be its own nearest neighbour: with
    k=2, the duplicated row 0 would score 0 (itself and its twin).
    """
    labels = np.zeros(4, dtype=int)
    kw = {"n_neighbors": n_neighbors, "method": method, "metric": "euclidean"}
    loo = knn_anomaly_scores(TRAIN, labels, TRAIN, labels, leave_one_out=True, **kw)
    assert loo.dtype == np.float64
    np.testing.assert_allclose(loo, expected, rtol=0, atol=1e-15)
    # scoring the training rows again is leave-one-out too (an identical row
    # counts as the clip itself)
    np.testing.assert_array_equal(
        knn_anomaly_scores(TRAIN, labels, TRAIN, None, **kw), loo
    )


def test_new_clips_use_every_training_row():
    """Check new clips compare with all training rows (k capped at their number)."""
    labels = np.zeros(4, dtype=int)
    query = np.array([[2.0], [10.0]])
    kw = {"metric": "euclidean"}
    largest = knn_anomaly_scores(
        TRAIN, labels, query, None, n_neighbors=10, method="largest", **kw
    )
    np.testing.assert_array_equal(largest, [2.0, 10.0])
    mean = knn_anomaly_scores(
        TRAIN, labels, query, None, n_neighbors=2, method="mean", **kw
    )
    np.testing.assert_array_equal(mean, [1.5, 7.5])  # (1 + 2) / 2, (6 + 9) / 2


def test_per_class_neighbours_and_best_matching_class():
    """Check neighbours come from the query's class; None takes the smallest."""
    train = np.array([[0.0], [1.0], [10.0], [12.0]])
    labels = np.array([0, 0, 1, 1])
    query = np.array([[11.0], [11.0], [11.0]])
    kw = {"n_neighbors": 1, "method": "largest", "metric": "euclidean"}
    own = knn_anomaly_scores(train, labels, query, np.array([0, 1, 1]), **kw)
    np.testing.assert_array_equal(own, [10.0, 1.0, 1.0])
    best = knn_anomaly_scores(train, labels, query, None, **kw)
    np.testing.assert_array_equal(best, [1.0, 1.0, 1.0])


def test_cosine_metric_ignores_scale_and_handles_zero_vectors():
    """Check cosine distances: scaled rows score the same, a zero vector is at 1.

    A query parallel to a training row (distance 0, other values) is not that
    row: only an identical query is scored leave-one-out.
    """
    train = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    labels = np.zeros(3, dtype=int)
    query = np.array([[2.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])
    kw = {"n_neighbors": 1, "method": "largest", "metric": "cosine"}
    got = knn_anomaly_scores(train, labels, query, None, **kw)
    # [1, 0] itself: its nearest other row is [3, 3], at 1 - cos(45 degrees)
    expected = [0.0, 1.0, 1.0, 1.0 - np.cos(np.pi / 4)]
    np.testing.assert_allclose(got, expected, atol=1e-15)
    scaled = knn_anomaly_scores(train * 1e3, labels, query * 1e-3, None, **kw)
    np.testing.assert_allclose(scaled[:3], got[:3], atol=1e-15)
    assert scaled[3] == 0.0  # no longer identical to a training row


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_distances_of_huge_features_do_not_overflow(rng, metric):
    """Check features whose squares (or sums) overflow float64 still score right."""
    train = rng.standard_normal((6, 4))
    query = rng.standard_normal((3, 4))
    labels = np.zeros(6, dtype=int)
    kw = {"n_neighbors": 2, "method": "mean", "metric": metric}
    small = knn_anomaly_scores(train, labels, query, None, **kw)
    huge = knn_anomaly_scores(train * 1e300, labels, query * 1e300, None, **kw)
    assert np.isfinite(huge).all()
    np.testing.assert_allclose(huge, small * 1e300, rtol=1e-12)


def test_rule_rejects_bad_arguments():
    """Check the k-NN rule's own argument errors."""
    labels = np.zeros(4, dtype=int)
    kw = {"n_neighbors": 1, "method": "largest", "metric": "euclidean"}
    with pytest.raises(ValueError, match="method must be"):
        knn_anomaly_scores(TRAIN, labels, TRAIN, None, **{**kw, "method": "median"})
    with pytest.raises(ValueError, match="metric must be"):
        knn_anomaly_scores(TRAIN, labels, TRAIN, None, **{**kw, "metric": "cheb"})
    with pytest.raises(ValueError, match="n_neighbors must be at least 1"):
        knn_anomaly_scores(TRAIN, labels, TRAIN, None, **{**kw, "n_neighbors": 0})
    with pytest.raises(ValueError, match="same number of columns"):
        knn_anomaly_scores(TRAIN, labels, np.zeros((1, 2)), None, **kw)
    with pytest.raises(ValueError, match="without training rows"):
        knn_anomaly_scores(TRAIN, labels, TRAIN, np.array([0, 0, 0, 3]), **kw)
    with pytest.raises(ValueError, match="query to be train"):
        knn_anomaly_scores(TRAIN, labels, TRAIN[:2], None, leave_one_out=True, **kw)
    with pytest.raises(ValueError, match="1 sample"):
        knn_anomaly_scores(
            TRAIN[:1], labels[:1], TRAIN[:1], labels[:1], leave_one_out=True, **kw
        )


# -------------------------------------------------------------------- KNNDetector
def test_offset_comes_from_leave_one_out_training_scores():
    """Check offset_ for both contamination rules, from the leave-one-out scores."""
    X = np.arange(12.0).reshape(-1, 1) ** 1.5
    loo = knn_anomaly_scores(
        X,
        np.zeros(12, dtype=int),
        X,
        None,
        n_neighbors=2,
        method="largest",
        metric="euclidean",
        leave_one_out=True,
    )
    auto = KNNDetector(n_neighbors=2).fit(X)
    assert auto.offset_ == -_seed_threshold(loo)
    share = KNNDetector(n_neighbors=2, contamination=0.25).fit(X)
    assert share.offset_ == np.percentile(-loo, 25.0)
    # the training clips score leave-one-out, so 3 of 12 are flagged
    assert (share.predict(X) == -1).sum() == 3
    np.testing.assert_array_equal(share.anomaly_score(X), loo)
    np.testing.assert_array_equal(share.decision_function(X), -loo - share.offset_)


def test_duplicated_training_clip_does_not_score_zero():
    """Check a duplicated training clip's own row is left out (k=2: score 1)."""
    det = KNNDetector(n_neighbors=2, contamination=0.25).fit(TRAIN)
    np.testing.assert_array_equal(det.anomaly_score(TRAIN), [1.0, 1.0, 1.0, 4.0])
    np.testing.assert_array_equal(det.predict(TRAIN), [1, 1, 1, -1])


def test_scores_signs_and_predict(rng):
    """Check anomaly_score, score_samples, decision_function and predict agree."""
    X, _ = _two_sections(rng)
    det = KNNDetector().fit(X[:20])
    query = np.vstack([X[:3] + 0.01, X[25:28]])
    anomaly = det.anomaly_score(query)
    np.testing.assert_array_equal(det.score_samples(query), -anomaly)
    np.testing.assert_array_equal(det.decision_function(query), -anomaly - det.offset_)
    pred = det.predict(query)
    assert pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, [1, 1, 1, -1, -1, -1])
    np.testing.assert_array_equal(det.fit_predict(X[:20]), det.predict(X[:20]))


def test_sections_choose_the_neighbours(rng):
    """Check each clip is compared with its own section's training clips."""
    X, sections = _two_sections(rng)
    det = KNNDetector(n_neighbors=3).fit(X, sections=sections)
    assert det.classes_.tolist() == ["a", "b"]
    query = X[[0, 25]] + 0.05
    own = det.anomaly_score(query, sections=["a", "b"])
    swapped = det.anomaly_score(query, sections=["b", "a"])
    assert (own < 5).all() and (swapped > 50).all()
    for i, section in enumerate(["a", "b"]):
        pool = X[sections == section]
        d = np.sort(np.linalg.norm(pool - query[i], axis=1))
        assert own[i] == pytest.approx(d[2])
    # best-matching section: the smaller of the two
    np.testing.assert_array_equal(det.anomaly_score(query), np.minimum(own, swapped))


def test_unknown_and_missing_sections_raise(rng):
    """Check unknown or missing sections and mismatched lengths are refused."""
    X, sections = _two_sections(rng)
    det = KNNDetector().fit(X, sections=sections)
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['c'\]"):
        det.anomaly_score(X[:2], sections=["a", "c"])
    with pytest.raises(ValueError, match="one label per clip"):
        det.predict(X[:2], sections=["a"])
    with pytest.raises(ValueError, match="missing labels"):
        KNNDetector().fit(X, sections=[None, *sections[1:].tolist()])
    # fit without sections: a single placeholder class, real sections unknown
    plain = KNNDetector().fit(X)
    assert plain.classes_.tolist() == [0]
    with pytest.raises(ValueError, match="unknown section"):
        plain.anomaly_score(X[:1], sections=["a"])


def test_labels_one_are_left_out_and_negative_labels_raise(rng):
    """Check y == 1 clips are dropped from training, negative labels raise."""
    X, _ = _two_sections(rng)
    y = np.r_[np.zeros(20), np.ones(20)]
    det = KNNDetector().fit(X, y)
    ref = KNNDetector().fit(X[:20])
    assert det.n_samples_fit_ == 20
    np.testing.assert_array_equal(det.anomaly_score(X), ref.anomaly_score(X))
    assert det.offset_ == ref.offset_
    with pytest.raises(ValueError, match="negative labels"):
        KNNDetector().fit(X, np.where(y == 1, -1, 0))
    with pytest.raises(ValueError, match="all 40 sample"):
        KNNDetector().fit(X, np.ones(40))
    with pytest.raises(ValueError, match="y has 3 labels for 40 samples"):
        KNNDetector().fit(X, [0, 0, 0])


def test_section_with_one_training_clip_raises(rng):
    """Check every section needs 2 training clips (a clip is not its own neighbour)."""
    X, sections = _two_sections(rng)
    sections[0] = "lonely"
    with pytest.raises(ValueError, match=r"1 sample of section\(s\) \['lonely'\]"):
        KNNDetector().fit(X, sections=sections)
    with pytest.raises(ValueError, match="1 sample"):
        KNNDetector().fit(X[:1])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.nan, "NaN"),
        (np.inf, "infinity"),
    ],
)
def test_non_finite_rows_raise(rng, bad, match):
    """Check NaN/inf in fit or scoring input raise a ValueError."""
    X = rng.standard_normal((6, 3))
    X_bad = X.copy()
    X_bad[2, 1] = bad
    with pytest.raises(ValueError, match=match):
        KNNDetector().fit(X_bad)
    det = KNNDetector().fit(X)
    with pytest.raises(ValueError, match=match):
        det.anomaly_score(X_bad)
    with pytest.raises(ValueError, match=match):
        det.predict(X_bad)


def test_bad_shapes_empty_input_and_unfitted(rng):
    """Check wrong feature counts, empty X and an unfitted detector raise clearly."""
    X = rng.standard_normal((6, 3))
    with pytest.raises(NotFittedError):
        KNNDetector().anomaly_score(X)
    det = KNNDetector().fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but KNNDetector is"):
        det.score_samples(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="0 sample"):
        KNNDetector().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="0 sample"):
        det.predict(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        det.predict(X[0])
    with pytest.raises(InvalidParameterError):
        KNNDetector(method="median").fit(X)
    with pytest.raises(InvalidParameterError):
        KNNDetector(contamination=0.6).fit(X)


def test_huge_features_give_finite_scores(rng):
    """Check features near the float64 limit score finitely (no silent inf)."""
    X = rng.standard_normal((10, 4))
    ref = KNNDetector(n_neighbors=3).fit(X)
    det = KNNDetector(n_neighbors=3).fit(X * 1e300)
    got = det.anomaly_score(X * 1e300)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref.anomaly_score(X) * 1e300, rtol=1e-12)
    # distances beyond float64 itself: a ValueError, not inf
    far = np.full((1, 4), 1.7e308)
    with pytest.raises(ValueError, match="non-finite anomaly scores for row"):
        KNNDetector(n_neighbors=3).fit(np.vstack([-far, far, far]))


def test_pickle_and_clone(rng):
    """Check a pickled detector scores the same and clone keeps the parameters."""
    X, sections = _two_sections(rng)
    det = KNNDetector(n_neighbors=3, method="mean", metric="manhattan")
    det.fit(X, sections=sections)
    again = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(
        again.decision_function(X, sections=sections),
        det.decision_function(X, sections=sections),
    )
    assert clone(det).get_params() == det.get_params()


def test_top_level_import_does_not_load_torch():
    """Check sklearn_asd.KNNDetector needs neither torch nor matplotlib."""
    code = (
        "import sys, sklearn_asd\n"
        "import numpy as np\n"
        "sklearn_asd.KNNDetector().fit(np.eye(3))\n"
        "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------- pipelines and routing
def test_pipeline_routes_sections(rng):
    """Check a Pipeline routes sections to the detector's fit and scoring."""
    X, sections = _two_sections(rng)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), KNNDetector(n_neighbors=3))
        pipe.fit(X, sections=sections)
        det = pipe[-1]
        assert det.classes_.tolist() == ["a", "b"]
        routed = pipe.decision_function(X, sections=sections)
        features = pipe[:-1].transform(X)
        np.testing.assert_array_equal(
            routed, det.decision_function(features, sections=sections)
        )
        swapped = np.where(sections == "a", "b", "a")
        assert not np.array_equal(routed, pipe.decision_function(X, sections=swapped))
        np.testing.assert_array_equal(
            pipe.predict(X, sections=sections), det.predict(features, sections=sections)
        )
        np.testing.assert_array_equal(
            pipe.score_samples(X), det.score_samples(features)
        )


_DECISION_CALLS = []


class _RecordingKNN(KNNDetector):
    """KNNDetector that records the sections given to decision_function."""

    def decision_function(self, X, *, sections=None):
        _DECISION_CALLS.append(None if sections is None else np.asarray(sections))
        return super().decision_function(X, sections=sections)


def test_grid_search_with_auc_scorer(rng):
    """Check GridSearchCV with auc_scorer routes sections and ranks anomalies."""
    X, sections = _two_sections(rng, n=24)
    y = np.zeros(48, dtype=int)
    anomalous = np.r_[0:6, 24:30]
    X[anomalous] += 6.0  # anomalies: shifted away from their section
    y[anomalous] = 1
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    _DECISION_CALLS.clear()
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_pipeline(StandardScaler(), _RecordingKNN()),
            {"_recordingknn__n_neighbors": [1, 3], "_recordingknn__method": ["mean"]},
            scoring=auc_scorer,
            cv=cv,
            error_score="raise",
        )
        search.fit(X, y, sections=sections)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (2,)
    assert (scores > 0.95).all()
    # every test fold's sections reached decision_function (2 candidates x 3 folds)
    expected = [sections[test] for _, test in cv.split(X, y)] * 2
    assert len(_DECISION_CALLS) >= len(expected)
    for got, want in zip(_DECISION_CALLS, expected):
        assert got is not None
        np.testing.assert_array_equal(got, want)
    # the refit trained on the normal clips only, per section
    best = search.best_estimator_[-1]
    assert best.classes_.tolist() == ["a", "b"]
    assert best.n_samples_fit_ == 36


# ------------------------------------------------------------------ real clips
def test_real_fan_clips_rank_anomalies_first(shared_datasets):
    """Check the classical pipeline on the real MIMII fan clips (6 -> 4 + 10).

    Measured (2026-12-01): AUC 1.000 for KNNDetector's defaults, the smallest
    anomalous score ~106 above the largest normal one (pAUC 1.000 too).
    """
    from sklearn_asd.datasets import load_dcase
    from sklearn_asd.features import AudioLoader, BandStatistics, LogMelSpectrogram

    root = shared_datasets / "mimii-becode-demo-ch0" / "fan"
    if not root.is_dir():
        pytest.skip(f"{root} is not available")
    data = load_dcase(root)
    normal = sorted(f for f, t in zip(data.filenames, data.target) if t == 0)
    anomalous = sorted(f for f, t in zip(data.filenames, data.target) if t == 1)
    assert (len(normal), len(anomalous)) == (10, 10)
    pipe = make_pipeline(
        AudioLoader(duration=10.0),
        LogMelSpectrogram(),
        BandStatistics(features=("bands", "mfcc", "spectral")),
        StandardScaler(),
        KNNDetector(),
    ).fit(normal[:6])
    test = normal[6:] + anomalous
    y = np.r_[np.zeros(4), np.ones(10)]
    scores = -pipe.score_samples(test)
    assert np.isfinite(scores).all()
    assert roc_auc_score(y, scores) >= 0.9
