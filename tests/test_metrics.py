import pickle

import numpy as np
import pytest
import sklearn
from scipy.stats import hmean
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.metadata_routing import get_routing_for_object

from sklearn_asd.metrics import (
    ASDScorer,
    auc_scorer,
    official_score,
    official_scorer,
    partial_auc_score,
    pauc_scorer,
    section_report,
)

EPS = np.finfo(float).eps

# Classic example: ROC (0, .5) -> (.5, .5) -> (.5, 1) -> (1, 1); AUC = 0.75.
# Up to fpr = 0.1 the tpr is 0.5: raw partial area 0.05, normalized 0.5,
# McClish 0.5 * (1 + (0.05 - 0.005) / (0.1 - 0.005)) = 14 / 19.
Y4 = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


def _cv():
    return StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


# ---------------------------------------------------------------------------
# partial_auc_score
# ---------------------------------------------------------------------------
def test_partial_auc_hand_computed():
    """Check the standardized and raw pAUC on a hand-computed ROC curve."""
    assert partial_auc_score(Y4, S4) == pytest.approx(14 / 19)
    assert partial_auc_score(Y4, S4, standardized=False) == pytest.approx(0.5)
    # up to fpr = 0.75: area 0.5 * 0.5 + 0.25 * 1 = 0.5 -> normalized 2 / 3
    raw = partial_auc_score(Y4, S4, max_fpr=0.75, standardized=False)
    assert raw == pytest.approx(0.5 / 0.75)


def test_partial_auc_perfect_and_inverted_ranking():
    """Check a perfect ranking gives 1 in both forms and an inverted one does not."""
    y = [0, 0, 1, 1]
    assert partial_auc_score(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert partial_auc_score(y, [0.1, 0.2, 0.3, 0.4], standardized=False) == 1.0
    inverted = [0.9, 0.8, 0.2, 0.1]
    assert partial_auc_score(y, inverted, standardized=False) == 0.0
    # McClish maps the minimal area max_fpr**2 / 2 to 0.5, so an inverted
    # ranking (area 0) scores 0.5 * (1 - 0.005 / 0.095) = 9 / 19.
    assert partial_auc_score(y, inverted) == pytest.approx(9 / 19)


@pytest.mark.parametrize("max_fpr", [0.05, 0.1, 0.3, 0.77])
def test_partial_auc_matches_sklearn_and_mcclish(max_fpr):
    """Check equality with roc_auc_score and the McClish relation of both forms."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = y + rng.normal(size=200)
    std = partial_auc_score(y, s, max_fpr=max_fpr)
    assert std == roc_auc_score(y, s, max_fpr=max_fpr)
    area = max_fpr * partial_auc_score(y, s, max_fpr=max_fpr, standardized=False)
    min_area = max_fpr**2 / 2
    assert std == pytest.approx(0.5 * (1 + (area - min_area) / (max_fpr - min_area)))


def test_partial_auc_max_fpr_one_is_auc():
    """Check that max_fpr=1 gives the full AUC in both forms."""
    assert partial_auc_score(Y4, S4, max_fpr=1) == 0.75
    assert partial_auc_score(Y4, S4, max_fpr=1, standardized=False) == 0.75


@pytest.mark.parametrize(
    "y_true, match",
    [
        ([1, -1, 1, -1], r"0 \(normal\) and 1 \(anomalous\).*\[-1\]"),
        ([0, -1, 1, 0], "unknown"),
        ([0, 2, 1, 0], r"\[2\]"),
        (["normal", "anomaly", "normal", "anomaly"], "numeric DCASE labels"),
        ([0, 0, 0, 0], "both normal"),
    ],
)
def test_partial_auc_rejects_bad_labels(y_true, match):
    """Check that non-0/1 or one-class labels raise an explanatory ValueError."""
    with pytest.raises(ValueError, match=match):
        partial_auc_score(y_true, [0.1, 0.2, 0.3, 0.4])


def test_partial_auc_rejects_bad_inputs():
    """Check shape, NaN and parameter errors."""
    with pytest.raises(ValueError, match="3 samples but y_true has 4"):
        partial_auc_score(Y4, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        partial_auc_score(Y4, [0.1, np.nan, 0.3, 0.4])
    with pytest.raises(InvalidParameterError, match="max_fpr"):
        partial_auc_score(Y4, S4, max_fpr=0)
    with pytest.raises(TypeError):
        partial_auc_score(Y4, S4, 0.1)


# ---------------------------------------------------------------------------
# official_score
# ---------------------------------------------------------------------------
def test_official_score_2021_hand_computed():
    """Check one harmonic mean over all AUCs and pAUCs of every section."""
    y = np.r_[Y4, Y4]
    s = np.r_[S4, [0.1, 0.2, 0.3, 0.4]]
    sections = ["00"] * 4 + ["01"] * 4
    # section 00: AUC 0.75, pAUC 14/19; section 01: AUC 1, pAUC 1
    expected = 4 / (1 / 0.75 + 19 / 14 + 1 + 1)
    assert expected == pytest.approx(168 / 197)
    assert official_score(y, s, sections=sections) == pytest.approx(expected)
    # not the mean of per-section harmonic means, nor the AUC-only hmean
    assert official_score(y, s, sections=sections) != pytest.approx(
        np.mean([hmean([0.75, 14 / 19]), 1.0])
    )


def test_official_score_machine_types_separate_groups():
    """Check that equal section labels of two machine types are two groups."""
    y = np.r_[Y4, Y4]
    s = np.r_[S4, [0.1, 0.2, 0.3, 0.4]]
    machines = ["fan"] * 4 + ["pump"] * 4
    got = official_score(y, s, sections=[0] * 8, machine_types=machines)
    assert got == pytest.approx(168 / 197)
    pooled = official_score(y, s, sections=[0] * 8)
    assert pooled == pytest.approx(
        hmean([roc_auc_score(y, s), roc_auc_score(y, s, max_fpr=0.1)])
    )
    assert pooled != pytest.approx(got)


# One section: source normals .1 .2 + anomaly .6, target normals .5 .7 +
# anomaly .3.
Y_DOM = np.array([0, 0, 1, 0, 0, 1])
S_DOM = np.array([0.1, 0.2, 0.6, 0.5, 0.7, 0.3])
D_DOM = np.array(["source"] * 3 + ["target"] * 3)


def test_official_score_2021_domains_and_epsilon():
    """Check per-domain groups and the clip at machine epsilon for AUC = 0."""
    # source: AUC 1, pAUC 1; target (.5 .7 vs .3): AUC 0, pAUC 9/19
    got = official_score(Y_DOM, S_DOM, sections=[0] * 6, domains=D_DOM)
    assert got > 0
    assert got == pytest.approx(4 / (1 + 1 + 1 / EPS + 19 / 9))


@pytest.mark.parametrize("year", [2022, 2023, 2024, 2025])
def test_official_score_2022_hand_computed(year):
    """Check the 2022+ domain AUCs (domain normals + all anomalies) and pAUC."""
    # AUC (source): normals .1 .2 vs anomalies .6 .3 -> 4/4 = 1
    # AUC (target): normals .5 .7 vs anomalies .6 .3 -> 1/4
    # pAUC over all: the top clip (.7) is normal -> tpr 0 up to fpr .25 -> 9/19
    got = official_score(Y_DOM, S_DOM, sections=[0] * 6, domains=D_DOM, year=year)
    assert got == pytest.approx(3 / (1 + 4 + 19 / 9))
    assert got == pytest.approx(27 / 64)


def test_official_score_2022_aggregates_sections_in_one_hmean():
    """Check 2022+ is one hmean of all (AUC source, AUC target, pAUC) values."""
    y = np.r_[Y_DOM, Y_DOM]
    s = np.r_[S_DOM, [0.1, 0.2, 0.9, 0.3, 0.4, 0.8]]  # section 1 perfect
    got = official_score(
        y, s, sections=[0] * 6 + [1] * 6, domains=np.r_[D_DOM, D_DOM], year=2022
    )
    assert got == pytest.approx(hmean([1, 0.25, 9 / 19, 1, 1, 1]))


def test_official_score_errors():
    """Check one-class groups and missing or bad domains raise ValueError."""
    y = np.r_[Y4, [0, 0, 0, 0]]
    s = np.r_[S4, S4]
    with pytest.raises(ValueError, match=r"machine type 'pump', section 1 has 4"):
        official_score(y, s, sections=[0] * 4 + [1] * 4, machine_types=["pump"] * 8)
    with pytest.raises(ValueError, match=r"section 0, domain 'source' has 1 normal"):
        official_score(
            [0, 1, 1, 1], S4, sections=[0] * 4, domains=["source"] + ["target"] * 3
        )
    with pytest.raises(ValueError, match="needs `domains`"):
        official_score(Y_DOM, S_DOM, sections=[0] * 6, year=2022)
    with pytest.raises(ValueError, match="'source' or 'target'"):
        official_score(Y_DOM, S_DOM, sections=[0] * 6, domains=[0] * 6, year=2022)
    only_source = ["source"] * 6
    with pytest.raises(ValueError, match=r"target-domain normals.*0 normal"):
        official_score(Y_DOM, S_DOM, sections=[0] * 6, domains=only_source, year=2022)
    with pytest.raises(ValueError, match="sections has 5 labels"):
        official_score(Y_DOM, S_DOM, sections=[0] * 5)
    with pytest.raises(InvalidParameterError, match="year"):
        official_score(Y_DOM, S_DOM, sections=[0] * 6, year=2020)
    with pytest.raises(ValueError, match="unknown"):
        official_score([-1, 0, 1, 1], S4, sections=[0] * 4)


# ---------------------------------------------------------------------------
# section_report
# ---------------------------------------------------------------------------
def test_section_report_dict_values():
    """Check per-group rows and arithmetic/harmonic aggregate rows."""
    y = np.r_[Y4, Y4]
    s = np.r_[S4, [0.1, 0.2, 0.3, 0.4]]
    report = section_report(y, s, sections=["00"] * 4 + ["01"] * 4, output_dict=True)
    assert list(report) == [
        "machine_type",
        "section",
        "domain",
        "n_normal",
        "n_anomalous",
        "auc",
        "pauc",
    ]
    assert report["section"] == ["00", "01", "arithmetic mean", "harmonic mean"]
    assert report["machine_type"] == [None] * 4
    assert report["domain"] == [None] * 4
    assert report["n_normal"] == [2, 2, 4, 4]
    assert report["n_anomalous"] == [2, 2, 4, 4]
    np.testing.assert_allclose(report["auc"], [0.75, 1, 0.875, 6 / 7])
    np.testing.assert_allclose(report["pauc"], [14 / 19, 1, (14 / 19 + 1) / 2, 28 / 33])


def test_section_report_machines_domains_and_text():
    """Check machine/domain rows, the 'all' rows and the text table."""
    y = np.r_[Y_DOM, Y_DOM]
    s = np.r_[S_DOM, S_DOM]
    machines = ["fan"] * 6 + ["valve"] * 6
    domains = np.r_[D_DOM, D_DOM]
    report = section_report(
        y,
        s,
        sections=[0] * 12,
        domains=domains,
        machine_types=machines,
        output_dict=True,
    )
    assert report["machine_type"] == ["fan"] * 4 + ["valve"] * 4 + ["all"] * 2
    assert report["domain"][:2] == ["source", "target"]
    np.testing.assert_allclose(report["auc"][:2], [1.0, 0.0])
    # hmean clips AUC = 0 at machine epsilon instead of failing
    assert report["auc"][3] == pytest.approx(2 / (1 + 1 / EPS))
    np.testing.assert_allclose(report["auc"][-2], 0.5)

    text = section_report(
        y, s, sections=[0] * 12, domains=domains, machine_types=machines, digits=2
    )
    lines = text.splitlines()
    assert lines[0].split() == [
        "machine_type",
        "section",
        "domain",
        "n_normal",
        "n_anomalous",
        "AUC",
        "pAUC",
    ]
    assert lines[1].split() == ["fan", "0", "source", "2", "1", "1.00", "1.00"]
    assert lines[2].split() == ["fan", "0", "target", "2", "1", "0.00", "0.47"]
    assert lines[-1].split() == ["all", "harmonic", "mean", "8", "4", "0.00", "0.64"]


def test_section_report_pandas_and_errors():
    """Check that pandas takes the dict and that one-class groups raise."""
    pd = pytest.importorskip("pandas")
    report = section_report(Y4, S4, sections=[0] * 4, output_dict=True)
    frame = pd.DataFrame(report)
    assert frame.shape == (3, 7)


def test_section_report_one_class_group_raises():
    """Check that a group with only normals raises a ValueError naming it."""
    with pytest.raises(ValueError, match=r"section 'a' has 2 normal and 0 anomalous"):
        section_report(Y4, S4, sections=["a", "a", "b", "b"])
    with pytest.raises(InvalidParameterError, match="digits"):
        section_report(Y4, S4, sections=[0] * 4, digits=-1)


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------
def _blobs(n_normal=120, n_anomalous=30, shift=4.0, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[
        rng.normal(size=(n_normal, 2)), rng.normal(shift, 1, size=(n_anomalous, 2))
    ]
    y = np.r_[np.zeros(n_normal, dtype=int), np.ones(n_anomalous, dtype=int)]
    return X, y


def test_scorer_sign_on_fitted_isolation_forest():
    """Check the scorers flip decision_function to the DCASE sign."""
    X, y = _blobs()
    forest = IsolationForest(random_state=0).fit(X[y == 0])
    unflipped = roc_auc_score(y, forest.decision_function(X))
    assert unflipped < 0.1
    assert auc_scorer(forest, X, y) == pytest.approx(1 - unflipped)
    assert auc_scorer(forest, X, y) > 0.9
    assert pauc_scorer(forest, X, y) == pytest.approx(
        roc_auc_score(y, -forest.decision_function(X), max_fpr=0.1)
    )
    # sections given directly are accepted and not forwarded to IsolationForest
    sections = np.arange(len(y)) % 2
    assert pauc_scorer(forest, X, y, sections=sections) == pauc_scorer(forest, X, y)
    assert official_scorer(forest, X, y, sections=sections) == pytest.approx(
        official_score(y, -forest.decision_function(X), sections=sections)
    )


def test_official_scorer_2022_uses_routed_domains():
    """Check ASDScorer(metric="official", year=2022) forwards domains to the metric."""
    X, y, sections = _swapped_sections()
    domains = np.where(np.arange(len(y)) % 2, "source", "target")
    detector = SectionCentroids().fit(X, y, sections=sections)
    scorer = ASDScorer("official", year=2022)
    expected = official_score(
        y,
        -detector.decision_function(X, sections=sections),
        sections=sections,
        domains=domains,
        year=2022,
    )
    assert expected == 1.0
    assert scorer(detector, X, y, sections=sections, domains=domains) == expected


def test_scorer_score_samples_fallback_and_classifier():
    """Check -score_samples without decision_function and unflipped classifiers."""

    class OnlyScoreSamples(BaseEstimator):
        def fit(self, X, y=None):
            return self

        def score_samples(self, X):
            return -np.asarray(X)[:, 0]  # high = normal

    X, y = _blobs()
    assert auc_scorer(OnlyScoreSamples().fit(X), X, y) == roc_auc_score(y, X[:, 0])
    classifier = LogisticRegression().fit(X, y)
    assert auc_scorer(classifier, X, y) > 0.9


def test_scorer_errors():
    """Check errors for missing sections, bad metadata and bad estimators."""
    X, y = _blobs()
    forest = IsolationForest(random_state=0, n_estimators=10).fit(X)
    with pytest.raises(ValueError, match="needs the `sections`"):
        official_scorer(forest, X, y)
    with pytest.raises(ValueError, match="needs `domains`"):
        ASDScorer("official", year=2022)(forest, X, y, sections=y * 0)
    with pytest.raises(TypeError, match="only the metadata"):
        auc_scorer(forest, X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="decision_function or score_samples"):
        auc_scorer(StandardScaler().fit(X), X, y)
    with pytest.raises(InvalidParameterError, match="metric"):
        ASDScorer("f1")
    with pytest.raises(InvalidParameterError, match="year"):
        ASDScorer("official", year=2019)


def test_scorer_repr_routing_and_pickle():
    """Check repr, the default metadata request and pickling."""
    assert repr(pauc_scorer) == "ASDScorer(metric='pauc')"
    assert (
        repr(ASDScorer("pauc", max_fpr=0.2)) == "ASDScorer(metric='pauc', max_fpr=0.2)"
    )
    routing = get_routing_for_object(official_scorer)
    assert routing.consumes("score", ["sections", "domains", "max_fpr"]) == {
        "sections",
        "domains",
    }
    X, y = _blobs()
    forest = IsolationForest(random_state=0, n_estimators=10).fit(X)
    restored = pickle.loads(pickle.dumps(pauc_scorer))
    assert restored(forest, X, y) == pauc_scorer(forest, X, y)


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_isolation_forest(routing):
    """Check GridSearchCV with IsolationForest, with and without routed sections."""
    X, y = _blobs(n_anomalous=15)
    sections = np.arange(len(y)) % 2
    params = {"sections": sections} if routing else {}

    def search(scoring, **params):
        return GridSearchCV(
            IsolationForest(random_state=0),
            {"n_estimators": [10, 30]},
            scoring=scoring,
            cv=_cv(),
        ).fit(X, y, **params)

    with sklearn.config_context(enable_metadata_routing=routing):
        assert search(auc_scorer, **params).best_score_ > 0.95
        assert search(pauc_scorer, **params).best_score_ > 0.9
        # a plain make_scorer on decision_function keeps scikit-learn's sign
        # and ranks the anomalies last
        unflipped = make_scorer(roc_auc_score, response_method="decision_function")
        assert search(unflipped).best_score_ < 0.1


class SectionCentroids(OutlierMixin, BaseEstimator):
    """Distance to the centroid of the clip's own section (high = normal).

    Without sections, the distance to the nearest section centroid.
    """

    __metadata_request__fit = {"sections": True}
    __metadata_request__decision_function = {"sections": True}
    calls = []  # sections received by decision_function (class-level log)

    def __init__(self, p=2):
        self.p = p

    def fit(self, X, y=None, sections=None):
        X = np.asarray(X)
        sections = np.zeros(len(X)) if sections is None else np.asarray(sections)
        normal = np.ones(len(X), bool) if y is None else np.asarray(y) == 0
        self.sections_ = np.unique(sections)
        self.centroids_ = np.array(
            [X[normal & (sections == k)].mean(axis=0) for k in self.sections_]
        )
        return self

    def decision_function(self, X, sections=None):
        type(self).calls.append(sections)
        X = np.asarray(X)
        diff = np.abs(X[:, None, :] - self.centroids_[None]) ** self.p
        dist = diff.sum(axis=2) ** (1 / self.p)
        if sections is None:
            return -dist.min(axis=1)
        idx = np.searchsorted(self.sections_, np.asarray(sections))
        return -dist[np.arange(len(X)), idx]


def _swapped_sections(n=60, seed=0):
    """Anomalies of each section sit on the other section's normal centroid."""
    rng = np.random.default_rng(seed)
    sections = np.repeat([0, 1], n)
    y = np.tile(np.r_[np.zeros(n - 15, int), np.ones(15, int)], 2)
    centers = np.where((sections == 1) ^ (y == 1), 5.0, 0.0)
    X = centers[:, None] + rng.normal(scale=0.5, size=(2 * n, 2))
    return X, y, sections


def _section_pipeline():
    return Pipeline([("scale", StandardScaler()), ("det", SectionCentroids())])


def test_scorer_forwards_sections_to_plain_estimator():
    """Check a plain estimator's decision_function receives the sections."""
    X, y, sections = _swapped_sections()
    detector = SectionCentroids().fit(X, y, sections=sections)
    SectionCentroids.calls.clear()
    assert auc_scorer(detector, X, y, sections=sections) == 1.0
    assert SectionCentroids.calls[-1] is sections
    # without sections the anomalies look like the other section's normals
    assert auc_scorer(detector, X, y) < 0.6
    assert SectionCentroids.calls[-1] is None
    # an explicit request of False is respected
    with sklearn.config_context(enable_metadata_routing=True):
        detector.set_decision_function_request(sections=False)
    assert auc_scorer(detector, X, y, sections=sections) < 0.6


def test_scorer_pipeline_routing():
    """Check a Pipeline receives sections only when routing is enabled."""
    X, y, sections = _swapped_sections()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = _section_pipeline().fit(X, y, sections=sections)
        SectionCentroids.calls.clear()
        assert pauc_scorer(pipe, X, y, sections=sections) == 1.0
        np.testing.assert_array_equal(SectionCentroids.calls[-1], sections)
        # a step that does not request sections never receives them
        forest = Pipeline([("det", IsolationForest(random_state=0))]).fit(X)
        assert pauc_scorer(forest, X, y, sections=sections) == pauc_scorer(forest, X, y)
    # routing disabled: a Pipeline would reject the metadata, so none is sent
    SectionCentroids.calls.clear()
    assert pauc_scorer(pipe, X, y, sections=sections) < 0.6
    assert SectionCentroids.calls == [None]


def test_grid_search_and_cross_validate_route_sections_to_pipeline():
    """Check sections reach the scorer and the pipeline through routing."""
    X, y, sections = _swapped_sections()
    cv = list(_cv().split(X, 2 * sections + y))  # both classes in every section
    with sklearn.config_context(enable_metadata_routing=True):
        SectionCentroids.calls.clear()
        search = GridSearchCV(
            _section_pipeline(), {"det__p": [1, 2]}, scoring=pauc_scorer, cv=cv
        ).fit(X, y, sections=sections)
        assert search.best_score_ == 1.0
        # 2 candidates x 3 folds, each on its test fold's sections
        received = SectionCentroids.calls
        assert len(received) == 6
        assert all(s is not None and len(s) == len(X) // 3 for s in received)

        result = cross_validate(
            _section_pipeline(),
            X,
            y,
            scoring={"official": official_scorer, "auc": auc_scorer},
            cv=cv,
            params={"sections": sections},
        )
        np.testing.assert_allclose(result["test_official"], 1.0)
        np.testing.assert_allclose(result["test_auc"], 1.0)

        # without routed sections the same pipeline cannot separate them
        no_sections = cross_validate(
            _section_pipeline(), X, y, scoring=auc_scorer, cv=cv
        )
        assert no_sections["test_score"].mean() < 0.6
