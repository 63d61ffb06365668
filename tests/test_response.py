"""The one rule from a detector to DCASE-sign anomaly scores and decisions."""

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_asd import KNNDetector
from sklearn_asd.metrics import auc_scorer
from sklearn_asd.utils._response import (
    _anomaly_decisions,
    _anomaly_scores,
    _anomaly_threshold,
    _response_method,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(5, 1, size=(8, 3))]
    y = np.r_[np.zeros(40), np.ones(8)].astype(int)
    return X, y


def test_outlier_detector_is_negated_and_decisions_match_predict(data):
    X, y = data
    det = IsolationForest(random_state=0).fit(X[y == 0])
    scores = _anomaly_scores(det, X)
    np.testing.assert_array_equal(scores, -det.decision_function(X))
    assert _anomaly_threshold(det) == 0.0
    np.testing.assert_array_equal(_anomaly_decisions(det, scores), det.predict(X) == -1)
    assert auc_scorer(det, X, y) > 0.95


def test_classifier_decision_function_is_already_the_anomaly_score(data):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    assert _response_method(clf) == ("decision_function", 1.0)
    scores = _anomaly_scores(clf, X)
    np.testing.assert_array_equal(scores, clf.decision_function(X))
    np.testing.assert_array_equal(_anomaly_decisions(clf, scores), clf.predict(X))
    # a pipeline ending in a classifier is a classifier too
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    np.testing.assert_allclose(_anomaly_scores(pipe, X), pipe.decision_function(X))
    assert auc_scorer(pipe, X, y) > 0.95


def test_score_samples_only_detector_uses_offset(data):
    X, y = data
    lof = LocalOutlierFactor(novelty=True).fit(X[y == 0])
    del_methods = type(
        "OnlyScoreSamples",
        (),
        {
            "score_samples": lambda self, X: lof.score_samples(X),
            "offset_": lof.offset_,
        },
    )()
    scores = _anomaly_scores(del_methods, X)
    np.testing.assert_array_equal(scores, -lof.score_samples(X))
    assert _anomaly_threshold(del_methods) == -lof.offset_
    np.testing.assert_array_equal(
        _anomaly_decisions(del_methods, scores), lof.predict(X) == -1
    )


def test_package_detector_uses_anomaly_score_and_sections(data):
    X, y = data
    sections = np.where(np.arange(len(X)) % 2, "00", "01")
    det = KNNDetector(n_neighbors=2).fit(X[y == 0], sections=sections[y == 0])
    assert _response_method(det) == ("anomaly_score", 1.0)
    scores = _anomaly_scores(det, X, sections=sections)
    np.testing.assert_array_equal(scores, det.anomaly_score(X, sections=sections))
    np.testing.assert_array_equal(
        _anomaly_decisions(det, scores), det.predict(X, sections=sections) == -1
    )
    assert _anomaly_threshold(det) == -det.offset_


def test_sections_for_a_detector_that_cannot_take_them(data):
    X, _ = data
    det = IsolationForest(random_state=0).fit(X)
    with pytest.raises(ValueError, match="IsolationForest has no anomaly_score"):
        _anomaly_scores(det, X, sections=["00"] * len(X))
    # the scorers ignore them (routing hands them to every scorer)
    scores = _anomaly_scores(det, X, sections=["00"] * len(X), unused="ignore")
    np.testing.assert_array_equal(scores, -det.decision_function(X))


def test_pyod_detector_keeps_its_sign(data):
    pyod = pytest.importorskip("pyod.models.knn")
    X, y = data
    det = pyod.KNN().fit(X[y == 0])
    scores = _anomaly_scores(det, X)
    np.testing.assert_array_equal(scores, det.decision_function(X))
    assert _anomaly_threshold(det) == det.threshold_
    np.testing.assert_array_equal(_anomaly_decisions(det, scores), det.predict(X))


def test_no_scoring_method():
    with pytest.raises(TypeError, match="has no anomaly_score, decision_function"):
        _anomaly_scores(object(), np.zeros((2, 1)))
