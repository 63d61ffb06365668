"""Auxiliary classes and the CNN branch's embedding back-ends (score_method)."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from _configs import tiny_contrastive, tiny_mel
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram
from sklearn_asd.metrics import auc_scorer
from sklearn_asd.model_selection import AuxiliarySplit

N_MELS = 8
PARAMS = tiny_contrastive(N_MELS, last_channel=16, max_epochs=6, lr=1e-2)
#: Epochs for the tests that need the classifier to tell the classes apart
#: (with 6 it stays at chance on one pair with today's library versions)
SEPARATING = {"max_epochs": 12}
MEL_PARAMS = tiny_mel(N_MELS)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _det(**params):
    return ContrastiveASDEstimator(**{**PARAMS, **params})


def _data(n_main=8, n_aux=8, seed=0):
    """One machine ("fan", one section) and two auxiliary machines."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_main + 2 * n_aux, N_MELS * 20)).astype(np.float32)
    sections = np.array(
        ["fan"] * n_main + ["aux:a"] * n_aux + ["aux:b"] * n_aux, dtype=object
    )
    X[sections == "aux:a"] += 3.0
    X[sections == "aux:b"] -= 3.0
    return X, sections


AUX = ["aux:a", "aux:b"]


@pytest.fixture(scope="module")
def fitted():
    X, sections = _data()
    det = _det(auxiliary_classes=AUX, **SEPARATING)
    return det.fit(X, sections=sections), X, sections


def test_auxiliary_classes_train_but_are_not_scored(fitted):
    """Check classes_, auxiliary_classes_, scored_classes_ and the CNN branch."""
    det, _, _ = fitted
    assert det.classes_.tolist() == ["aux:a", "aux:b", "fan"]
    assert det.auxiliary_classes_.tolist() == ["aux:a", "aux:b"]
    assert det.scored_classes_.tolist() == ["fan"]
    # one scored section, but three training classes: the classifier scores
    assert det.score_branch_ == "cnn"
    assert det.net_.module_.cnn.classifier[-1].out_features == 3


def test_auxiliary_clips_never_move_the_threshold(monkeypatch):
    """Check that every offset comes from the scored clips' training scores only."""
    X, sections = _data()
    seen = []
    original = ContrastiveASDEstimator._offset_of

    def spy(self, train_scores):
        seen.append(np.asarray(train_scores).shape)
        return original(self, train_scores)

    monkeypatch.setattr(ContrastiveASDEstimator, "_offset_of", spy)
    det = _det(auxiliary_classes=AUX).fit(X, sections=sections)
    n_main = int(np.sum(sections == "fan"))
    # softmax, knn, mahalanobis and ae: one threshold each, from the 8 fan clips
    assert seen == [(n_main,)] * 4
    assert set(det.offsets_) == {"softmax", "knn", "mahalanobis", "ae"}
    main = sections == "fan"
    train_scores = det.anomaly_score(X[main], sections=sections[main])
    assert det.offsets_["softmax"] == pytest.approx(original(det, train_scores))
    # contamination=0.5 puts the threshold at the median of the scored clips'
    # scores: half of them predicted anomalous, whatever the auxiliary clips
    monkeypatch.undo()
    det = _det(auxiliary_classes=AUX, contamination=0.5).fit(X, sections=sections)
    flagged = det.predict(X[main], sections=sections[main]) == -1
    assert flagged.mean() == pytest.approx(0.5, abs=1 / main.sum())


@pytest.fixture(scope="module")
def two_scored():
    """A fit with two scored classes (fan and pump) and two auxiliary ones."""
    X, sections = _data()
    sections = sections.copy()
    sections[4:8] = "pump"  # two scored classes: fan and pump
    X[4:8] += 6.0
    det = _det(auxiliary_classes=AUX, **SEPARATING)
    return det.fit(X, sections=sections), X, sections


@pytest.mark.parametrize("method", ["softmax", "knn", "mahalanobis"])
def test_best_matching_section_is_among_scored_classes(two_scored, method):
    """Check that sections=None takes the best of the scored classes only."""
    fitted, X, sections = two_scored
    # score_method is an inference-time choice: one fit serves the three
    det = pickle.loads(pickle.dumps(fitted)).set_params(score_method=method)
    assert det.scored_classes_.tolist() == ["fan", "pump"]
    aux_rows = X[sections != "fan"][4:]  # clips of the auxiliary machines
    n = len(aux_rows)
    best = det.anomaly_score(aux_rows)
    per_class = np.stack(
        [det.anomaly_score(aux_rows, sections=[c] * n) for c in ("fan", "pump")]
    )
    np.testing.assert_array_equal(best, per_class.min(axis=0))


def test_scoring_an_auxiliary_class_raises(fitted):
    """Check the clear error for sections that name an auxiliary class."""
    det, X, _ = fitted
    with pytest.raises(ValueError, match="auxiliary classes"):
        det.anomaly_score(X[:2], sections=["fan", "aux:a"])


@pytest.mark.parametrize(
    "auxiliary, match",
    [
        (["aux:zzz"], "do not occur in the training sections"),
        (["aux:a", "aux:b", "fan"], "at least one section"),
    ],
)
def test_invalid_auxiliary_classes_raise(auxiliary, match):
    """Check errors for unknown and all-auxiliary auxiliary_classes."""
    X, sections = _data()
    det = _det(auxiliary_classes=auxiliary)
    with pytest.raises(ValueError, match=match):
        det.fit(X, sections=sections)
    assert not hasattr(det, "net_")


def test_auxiliary_classes_as_a_string_raises():
    """Check that a bare string is not taken as a list of characters."""
    X, sections = _data()
    with pytest.raises(InvalidParameterError, match="auxiliary_classes"):
        _det(auxiliary_classes="aux:a").fit(X, sections=sections)


def test_warns_when_auxiliary_class_is_the_same_machine():
    """Check the warning when an auxiliary class sounds like the scored one."""
    X, sections = _data()
    same = X.copy()
    same[sections == "aux:a"] = X[sections == "fan"]  # "aux:a" = the fan itself
    with pytest.warns(UserWarning, match="auxiliary class 'aux:a'.*another machine"):
        _det(auxiliary_classes=AUX, **SEPARATING).fit(same, sections=sections)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _det(auxiliary_classes=AUX, **SEPARATING).fit(X, sections=sections)


@pytest.mark.parametrize("method", ["softmax", "knn", "mahalanobis"])
def test_score_methods_keep_cnn_branch_and_valid_thresholds(fitted, method):
    """Check every back-end: CNN branch, finite scores, its own offset."""
    det, X, sections = fitted
    det.set_params(score_method=method)
    try:
        scores = det.anomaly_score(X[:8], sections=sections[:8])
        assert det.score_branch_ == "cnn"
        assert np.isfinite(scores).all()
        assert det.offset_ == det.offsets_[method]
        np.testing.assert_allclose(
            det.decision_function(X[:8], sections=sections[:8]),
            -scores - det.offsets_[method],
        )
    finally:
        det.set_params(score_method="softmax")
    assert set(det.offsets_) == {"softmax", "knn", "mahalanobis", "ae"}


def test_knn_training_scores_leave_each_clip_out(fitted):
    """Check that a training clip is not its own nearest neighbour.

    Scored again, the training clips get the leave-one-out scores behind the
    k-NN threshold (a query equal to a training row leaves that row out).
    """
    det, X, sections = fitted
    main = sections == "fan"
    det.set_params(score_method="knn")
    try:
        train = det.anomaly_score(X[main], sections=sections[main])
    finally:
        det.set_params(score_method="softmax")
    assert np.all(train > 1e-6)
    assert det.offsets_["knn"] == pytest.approx(det._offset_of(train))


def test_knn_equals_cosine_distance_to_nearest_training_embedding(fitted):
    """Check the k-NN back-end against a direct computation on embeddings."""
    det, X, _ = fitted
    rng = np.random.default_rng(1)
    new = rng.normal(size=(3, X.shape[1])).astype(np.float32)
    det.set_params(score_method="knn", n_neighbors=2)
    try:
        got = det.anomaly_score(new, sections=["fan"] * 3)
    finally:
        det.set_params(score_method="softmax", n_neighbors=1)
    _, _, emb = det._cnn_outputs(
        det._cnn(), det._standardize(new.reshape(3, N_MELS, 20))
    )
    train = det.train_embeddings_.astype(np.float64)
    a = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    b = train / np.linalg.norm(train, axis=1, keepdims=True)
    distances = np.sort(1.0 - a @ b.T, axis=1)[:, :2].mean(axis=1)
    np.testing.assert_allclose(got, distances, rtol=1e-4, atol=1e-6)


def test_back_ends_survive_pickle(fitted):
    """Check that every back-end scores the same after a pickle round trip."""
    det, X, sections = fitted
    copy = pickle.loads(pickle.dumps(det))
    for method in ("softmax", "knn", "mahalanobis"):
        for d in (det, copy):
            d.set_params(score_method=method)
        np.testing.assert_array_equal(
            det.anomaly_score(X[:4], sections=sections[:4]),
            copy.anomaly_score(X[:4], sections=sections[:4]),
        )
    det.set_params(score_method="softmax")
    assert copy.auxiliary_classes_.tolist() == AUX


def test_offset_can_be_set_for_the_current_method(fitted):
    """Check that assigning offset_ changes the current method's threshold only."""
    det, _, _ = fitted
    before = dict(det.offsets_)
    try:
        det.set_params(score_method="knn")
        det.offset_ = -0.5
        assert det.offsets_["knn"] == -0.5
        assert det.offsets_["softmax"] == before["softmax"]
    finally:
        det.offsets_.update(before)
        det.set_params(score_method="softmax")


def test_auxiliary_split_keeps_auxiliary_rows_in_training_folds():
    """Check AuxiliarySplit: auxiliary rows in every train fold, never in a test."""
    auxiliary = np.array([False] * 6 + [True] * 3)
    y = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0])
    cv = AuxiliarySplit(StratifiedKFold(3), auxiliary)
    assert cv.get_n_splits(np.zeros(9), y) == 3
    tested = []
    for train, test in cv.split(np.zeros((9, 1)), y):
        assert set(range(6, 9)) <= set(train.tolist())
        assert not set(test.tolist()) & set(range(6, 9))
        assert sorted(y[test].tolist()) == [0, 1]
        tested += test.tolist()
    assert sorted(tested) == list(range(6))
    with pytest.raises(ValueError, match="boolean mask"):
        next(AuxiliarySplit(KFold(2), [0, 1]).split(np.zeros((2, 1))))
    with pytest.raises(ValueError, match="entries for"):
        next(AuxiliarySplit(KFold(2), [True, False]).split(np.zeros((3, 1))))


@pytest.mark.filterwarnings("ignore:the classifier tells:UserWarning")
def test_grid_search_with_auxiliary_clips():
    """Check routing + GridSearchCV: auxiliary clips train, scorers never see them.

    A scorer that saw an auxiliary clip would fail (scoring an auxiliary
    section raises), so error_score="raise" proves the folds are clean.
    """
    main = make_machine_sounds(
        n_normal=8, n_anomalous=4, n_sections=1, duration=0.5, random_state=0
    )
    other = make_machine_sounds(
        n_normal=8, n_anomalous=0, n_sections=2, duration=0.5, random_state=1
    )
    X = np.r_[main.data, other.data]
    y = np.r_[main.target, np.zeros(len(other.data), int)]
    sections = np.r_[
        np.array(["fan"] * len(main.data), dtype=object),
        np.array([f"aux:{s}" for s in other.sections], dtype=object),
    ]
    aux = sorted(set(sections.tolist()) - {"fan"})
    pipe = Pipeline(
        [
            ("mel", LogMelSpectrogram(**MEL_PARAMS)),
            ("det", _det(auxiliary_classes=aux, max_epochs=1)),
        ]
    )
    cv = AuxiliarySplit(
        StratifiedKFold(2, shuffle=True, random_state=0), np.isin(sections, aux)
    )
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe,
            {"det__score_method": ["softmax", "knn"]},
            scoring=auc_scorer,
            cv=cv,
            error_score="raise",
        ).fit(X, y, sections=sections)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    det = search.best_estimator_.named_steps["det"]
    assert det.scored_classes_.tolist() == ["fan"]
    assert det.auxiliary_classes_.tolist() == aux


def test_exported_graph_best_match_skips_auxiliary_classes(fitted):
    """Check the export graph's section=-1 score equals sections=None scoring."""
    import torch

    from sklearn_asd.export import _scoring_graph, _unpack

    det, X, _ = fitted
    graph, branch, _ = _scoring_graph(*_unpack(det, False), False)
    assert branch == "cnn"
    rows = X[-6:]  # auxiliary machines' clips: their own class would match best
    with torch.no_grad():
        score, scores = graph(
            torch.from_numpy(rows), torch.full((len(rows),), -1, dtype=torch.int64)
        )
    np.testing.assert_allclose(score.numpy(), det.anomaly_score(rows), rtol=1e-4)
    assert np.all(scores.numpy()[:, :2].min(axis=1) < score.numpy())


@pytest.mark.parametrize("method", ["knn", "mahalanobis"])
def test_export_of_embedding_back_ends_raises(fitted, method):
    """Check export_onnx refuses back-ends whose data are not in the graph."""
    from sklearn_asd.export import export_onnx

    det, _, _ = fitted
    det.set_params(score_method=method)
    try:
        with pytest.raises(ValueError, match="softmax score only"):
            export_onnx(det, None)
    finally:
        det.set_params(score_method="softmax")


def test_embedding_back_ends_need_two_clips_per_scored_section():
    """Check one-clip sections: softmax only, and a clear error for the others."""
    X, sections = _data(n_main=1)
    det = _det(auxiliary_classes=AUX).fit(X, sections=sections)
    assert set(det.offsets_) == {"softmax", "ae"}
    for method in ("knn", "mahalanobis"):
        det.set_params(score_method=method)
        with pytest.raises(ValueError, match="at least 2 training clips"):
            det.anomaly_score(X[:1])
    # asked for at construction: the fit itself fails, and leaves no model
    knn = _det(auxiliary_classes=AUX, score_method="knn")
    with pytest.raises(ValueError, match="at least 2 training clips"):
        knn.fit(X, sections=sections)
    assert not hasattr(knn, "net_")


def test_changing_n_neighbors_after_fit_gives_its_own_threshold(fitted):
    """Check that the k-NN threshold follows n_neighbors (leave one out)."""
    det, X, sections = fitted
    main = sections == "fan"
    det.set_params(score_method="knn", n_neighbors=3)
    try:
        train = det.anomaly_score(X[main], sections=sections[main])
        assert det.offset_ == pytest.approx(det._offset_of(train))
        det.set_params(n_neighbors=1)
        train1 = det.anomaly_score(X[main], sections=sections[main])
        assert det.offset_ == pytest.approx(det._offset_of(train1))
        assert not np.allclose(train, train1)
    finally:
        det.set_params(score_method="softmax", n_neighbors=1)


def test_changing_score_mode_after_fit_is_refused_by_embedding_back_ends(fitted):
    """Check that training embeddings of another score_mode are not compared."""
    det, X, _ = fitted
    det.set_params(score_method="knn", score_mode="shared")
    try:
        with pytest.raises(ValueError, match="score_mode='patches'"):
            det.anomaly_score(X[:2], sections=["fan", "fan"])
    finally:
        det.set_params(score_method="softmax", score_mode="patches")
    det.set_params(score_mode="shared")  # the softmax score still works
    try:
        assert np.isfinite(det.anomaly_score(X[:2], sections=["fan", "fan"])).all()
    finally:
        det.set_params(score_mode="patches")


def test_invalid_score_method_set_after_fit_is_named(fitted):
    """Check that a typo set after fit gets its own message."""
    det, X, _ = fitted
    det.set_params(score_method="knnn")
    try:
        with pytest.raises(ValueError, match="score_method must be one of"):
            det.anomaly_score(X[:1], sections=["fan"])
    finally:
        det.set_params(score_method="softmax")


@pytest.mark.parametrize("branches", ["dual", "cnn"])
def test_models_saved_before_offsets_load_and_score(branches):
    """Check that a model pickled with one offset_ (no offsets_) still scores."""
    X, sections = _data()
    sections = np.where(sections == "aux:b", "other", sections)
    det = _det(branches=branches).fit(X, sections=sections)
    state = dict(det.__getstate__())  # a copy: this is det.__dict__ itself
    # the layout of models saved before this version
    offsets = state.pop("offsets_")
    state["offset_"] = offsets["softmax"]
    for name in (
        "score_method",
        "n_neighbors",
        "auxiliary_classes",
        "auxiliary_classes_",
        "scored_classes_",
    ):
        state.pop(name)
    old = ContrastiveASDEstimator.__new__(ContrastiveASDEstimator)
    old.__setstate__(state)
    assert old.offset_ == offsets["softmax"]
    assert old.scored_classes_.tolist() == det.classes_.tolist()
    np.testing.assert_array_equal(
        old.decision_function(X[:4]), det.decision_function(X[:4])
    )
