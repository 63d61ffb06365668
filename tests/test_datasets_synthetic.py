import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import BandStatistics, LogMelSpectrogram, MedianFilter


@pytest.fixture(scope="module")
def default_split():
    """Defaults of the generator: 60 normal training clips, 60 + 60 test clips."""
    train = make_machine_sounds(n_normal=60, n_anomalous=0, random_state=0)
    test = make_machine_sounds(n_normal=60, n_anomalous=60, random_state=100)
    return train, test


def test_shapes_labels_and_metadata():
    """Check shapes, dtypes, counts per section and the anomaly-kind cycle."""
    s = make_machine_sounds(
        n_normal=6,
        n_anomalous=8,
        n_sections=2,
        duration=0.5,
        shuffle=False,
        random_state=0,
    )
    assert s.data.shape == (14, 8000) and s.data.dtype == np.float32
    assert s.sr == 16000
    np.testing.assert_array_equal(s.target, [0] * 6 + [1] * 8)
    assert list(s.sections[:6]) == ["00", "01"] * 3
    assert (
        list(s.anomaly_kinds[6:]) == ["click", "harmonic", "modulation", "friction"] * 2
    )
    assert set(s.anomaly_kinds[:6]) == {"normal"}
    assert set(s.domains) == {"source"}
    assert np.isfinite(s.data).all()
    # every clip is scaled to RMS 0.05 with a gain of N(0, 1 dB): within 5 sigma
    level_db = 20 * np.log10(np.sqrt((s.data**2).mean(1)) / 0.05)
    assert np.abs(level_db).max() < 5.0
    assert "6 normal and 8 anomalous" in s.DESCR


def test_deterministic_given_random_state():
    """Check the same seed gives identical clips and another seed other clips."""
    a = make_machine_sounds(n_normal=3, n_anomalous=3, duration=0.5, random_state=7)
    b = make_machine_sounds(n_normal=3, n_anomalous=3, duration=0.5, random_state=7)
    c = make_machine_sounds(n_normal=3, n_anomalous=3, duration=0.5, random_state=8)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.target, b.target)
    assert not np.allclose(a.data, c.data)


def test_shuffle_is_a_permutation():
    """Check shuffling only reorders the unshuffled clips."""
    kw = {"n_normal": 4, "n_anomalous": 4, "duration": 0.25, "random_state": 3}
    ordered = make_machine_sounds(shuffle=False, **kw)
    shuffled = make_machine_sounds(**kw)
    assert not np.array_equal(ordered.target, shuffled.target)
    key = lambda s: sorted(map(tuple, np.round(s.data[:, :50], 6)))  # noqa: E731
    assert key(ordered) == key(shuffled)


def test_sections_are_distinct_machines():
    """Check every clip's nearest neighbour (band means) is from its own section."""
    s = make_machine_sounds(
        n_normal=15, n_anomalous=0, n_sections=3, duration=1.0, random_state=0
    )
    means = make_pipeline(
        LogMelSpectrogram(), BandStatistics(statistics=("mean",))
    ).fit_transform(s.data)
    dist = ((means[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    np.testing.assert_array_equal(s.sections[dist.argmin(1)], s.sections)


def test_domain_shift_marks_every_fourth_clip():
    """Check domain_shift gives a quarter of target-domain clips per section."""
    s = make_machine_sounds(
        n_normal=24,
        n_anomalous=0,
        n_sections=2,
        duration=0.25,
        domain_shift=True,
        random_state=0,
    )
    for section in ["00", "01"]:
        domains = s.domains[s.sections == section]
        assert (domains == "target").sum() == 3 and (domains == "source").sum() == 9


def test_anomaly_kinds_subset():
    """Check anomaly_kinds restricts the generated kinds."""
    s = make_machine_sounds(
        n_normal=1,
        n_anomalous=5,
        duration=0.25,
        anomaly_kinds=["click"],
        random_state=0,
    )
    assert set(s.anomaly_kinds[s.target == 1]) == {"click"}


def test_click_anomaly_is_impulsive():
    """Check clicks raise the peak-to-RMS ratio above every normal clip's."""
    s = make_machine_sounds(
        n_normal=20,
        n_anomalous=10,
        duration=1.0,
        severity=1.0,
        anomaly_kinds=["click"],
        random_state=0,
    )
    crest = np.abs(s.data).max(1) / np.sqrt((s.data**2).mean(1))
    assert crest[s.target == 1].min() > crest[s.target == 0].max()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"anomaly_kinds": ["rattle"]}, "anomaly_kinds must be"),
        ({"anomaly_kinds": []}, "anomaly_kinds must be"),
        ({"n_normal": 0, "n_anomalous": 0}, "at least 1"),
        ({"duration": 1e-5}, "fewer than 2 samples"),
        ({"severity": 2.0}, "severity"),
        ({"n_sections": 0}, "n_sections"),
    ],
)
def test_bad_parameters(kwargs, match):
    """Check invalid parameters raise errors naming the problem."""
    with pytest.raises(ValueError, match=match):
        make_machine_sounds(**kwargs)


def _iforest_auc(train, test, median_filter=False):
    steps = [LogMelSpectrogram()]
    steps += [MedianFilter()] if median_filter else []
    steps += [BandStatistics(), IsolationForest(random_state=0)]
    pipe = make_pipeline(*steps).fit(train.data)
    return roc_auc_score(test.target, -pipe.decision_function(test.data))


# slow: default_split generates 180 clips of 10 s (~7 s), then features of them
@pytest.mark.slow
def test_default_difficulty_is_learnable_not_trivial(default_split):
    """Check IsolationForest on band mean/std reaches an AUC in [0.6, 0.9]."""
    train, test = default_split
    auc = _iforest_auc(train, test)
    assert 0.6 <= auc <= 0.9, auc


@pytest.mark.slow  # default_split, as above
def test_defaults_of_generator_and_every_step_work_together(default_split):
    """Check default generator + default steps (with MedianFilter) beat chance."""
    train, test = default_split
    assert _iforest_auc(train, test, median_filter=True) > 0.55


def test_severity_controls_difficulty():
    """Check stronger anomalies are easier to detect than faint ones."""
    train = make_machine_sounds(
        n_normal=30, n_anomalous=0, duration=4.0, random_state=0
    )
    aucs = [
        _iforest_auc(
            train,
            make_machine_sounds(
                n_normal=30,
                n_anomalous=30,
                duration=4.0,
                severity=sev,
                random_state=1,
            ),
        )
        for sev in (0.0, 1.0)
    ]
    assert aucs[1] > aucs[0] + 0.1, aucs
