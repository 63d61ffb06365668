# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
import subprocess
import sys

import numpy as np
import pytest
from _configs import tiny_contrastive, tiny_mel

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_asd import ContrastiveASDEstimator  # noqa: E402
from sklearn_asd.datasets import make_machine_sounds  # noqa: E402
from sklearn_asd.features import (  # noqa: E402
    BandStatistics,
    LogMelSpectrogram,
    MedianFilter,
)
from sklearn_asd.metrics import partial_auc_score  # noqa: E402
from sklearn_asd.plotting import (  # noqa: E402
    ASDCurveDisplay,
    ScoreHistogramDisplay,
    SpectrogramDisplay,
    TrainingCurveDisplay,
)

MEL = tiny_mel(16)
DET = tiny_contrastive(16, max_epochs=2, validation_fraction=0.25)


@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch):
    """Fail if anything calls plt.show(); close every figure after the test."""

    def show(*args, **kwargs):
        raise AssertionError("plt.show() must not be called")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    """A tiny contrastive detector on 0.5-s synthetic clips (2 sections, 2 domains)."""
    import torch

    sounds = make_machine_sounds(
        n_normal=24,
        n_anomalous=12,
        n_sections=2,
        duration=0.5,
        domain_shift=True,
        random_state=0,
    )
    mel = LogMelSpectrogram(**MEL).fit(sounds.data)
    X = mel.transform(sounds.data)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        det = ContrastiveASDEstimator(**DET).fit(
            X, sounds.target, sections=sounds.sections
        )
    finally:
        torch.set_num_threads(previous)
    return sounds, mel, X, det


def _polygon_area(vertices):
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ------------------------------------------------------------------ ASD curve
@pytest.mark.parametrize("max_fpr", [0.1, 0.3, 1.0])
def test_asd_curve_region_spans_max_fpr_and_legend_has_auc_pauc(rng, max_fpr):
    """Check the shaded region covers FPR [0, max_fpr] with the raw partial area."""
    y = np.r_[np.zeros(60), np.ones(20)].astype(int)
    scores = rng.normal(size=80) + 1.2 * y
    display = ASDCurveDisplay.from_predictions(y, scores, max_fpr=max_fpr, name="d")

    fpr, tpr, _ = roc_curve(y, scores)
    np.testing.assert_array_equal(display.line_.get_xdata(), fpr)
    np.testing.assert_array_equal(display.line_.get_ydata(), tpr)
    assert isinstance(display.region_, PolyCollection)
    vertices = display.region_.get_paths()[0].vertices
    assert vertices[:, 0].min() == 0.0
    assert vertices[:, 0].max() == pytest.approx(max_fpr)
    # the area of the shaded polygon is the raw (unstandardized) partial AUC
    raw = partial_auc_score(y, scores, max_fpr=max_fpr, standardized=False)
    assert _polygon_area(vertices) == pytest.approx(raw * max_fpr, rel=1e-9)

    auc = roc_auc_score(y, scores)
    pauc = roc_auc_score(y, scores, max_fpr=max_fpr) if max_fpr < 1 else auc
    assert display.roc_auc == pytest.approx(auc)
    assert display.pauc == pytest.approx(pauc)
    label = display.line_.get_label()
    assert label == f"d (AUC = {auc:.3f}, pAUC = {pauc:.3f})"
    assert label in _legend_texts(display.ax_)
    assert display.figure_ is display.ax_.figure
    assert display.chance_level_ is None


def test_asd_curve_draws_on_given_axes_with_chance_level():
    """Check ax= is used and the chance-level diagonal is stored."""
    fig, ax = plt.subplots()
    display = ASDCurveDisplay.from_predictions(
        [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ax=ax, plot_chance_level=True
    )
    assert display.ax_ is ax and display.figure_ is fig
    np.testing.assert_array_equal(display.chance_level_.get_xdata(), [0, 1])
    assert display.line_.get_label() == "AUC = 0.750, pAUC = 0.737"
    # a second curve on the same axes adds its curve, not a second region entry
    second = ASDCurveDisplay.from_predictions([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], ax=ax)
    assert second.ax_ is ax and len(ax.collections) == 2
    texts = _legend_texts(ax)
    assert texts.count("pAUC region (FPR \u2264 0.1)") == 1
    assert "AUC = 1.000, pAUC = 1.000" in texts


def test_asd_curve_from_estimator_uses_anomaly_score(fitted):
    """Check from_estimator plots the detector's anomaly_score, also via a Pipeline."""
    sounds, mel, X, det = fitted
    expected = det.anomaly_score(X, sections=sounds.sections)
    display = ASDCurveDisplay.from_estimator(
        det, X, sounds.target, sections=sounds.sections
    )
    assert display.roc_auc == pytest.approx(roc_auc_score(sounds.target, expected))
    assert display.pauc == pytest.approx(
        roc_auc_score(sounds.target, expected, max_fpr=0.1)
    )
    assert display.line_.get_label().startswith("ContrastiveASDEstimator (AUC = ")

    pipe = make_pipeline(mel, det)
    from_pipe = ASDCurveDisplay.from_estimator(
        pipe, sounds.data, sounds.target, sections=sounds.sections, name="pipe"
    )
    assert from_pipe.roc_auc == pytest.approx(display.roc_auc)
    np.testing.assert_allclose(from_pipe.tpr, display.tpr)


def test_asd_curve_from_estimator_negates_decision_function(rng):
    """Check a scikit-learn detector is scored with -decision_function."""
    X = rng.normal(size=(40, 3))
    y = np.r_[np.zeros(30), np.ones(10)]
    X[y == 1] += 1.5
    iforest = IsolationForest(random_state=0).fit(X[y == 0])
    display = ASDCurveDisplay.from_estimator(iforest, X, y)
    expected = roc_auc_score(y, -iforest.decision_function(X))
    assert expected > 0.5
    assert display.roc_auc == pytest.approx(expected)
    with pytest.raises(ValueError, match="no anomaly_score"):
        ASDCurveDisplay.from_estimator(iforest, X, y, sections=np.zeros(40))


def test_asd_curve_errors(rng):
    """Check bad labels, lengths, max_fpr, unfitted estimators and ax raise."""
    y, s = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    with pytest.raises(ValueError, match="y_score has 3 samples but y_true has 4"):
        ASDCurveDisplay.from_predictions(y, s[:3])
    with pytest.raises(ValueError, match=r"needs both normal \(0\) and anomalous"):
        ASDCurveDisplay.from_predictions([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="DCASE convention"):
        ASDCurveDisplay.from_predictions([1, -1, 1, -1], s)
    with pytest.raises(ValueError, match="max_fpr must be a float in"):
        ASDCurveDisplay.from_predictions(y, s, max_fpr=0.0)
    with pytest.raises(ValueError, match="NaN"):
        ASDCurveDisplay.from_predictions(y, [0.1, np.nan, 0.2, 0.3])
    with pytest.raises(NotFittedError):
        ASDCurveDisplay.from_estimator(IsolationForest(), rng.normal(size=(4, 2)), y)
    with pytest.raises(NotFittedError):
        ASDCurveDisplay.from_estimator(
            ContrastiveASDEstimator(**DET), rng.normal(size=(4, 32)), y
        )
    with pytest.raises(TypeError, match="expected a fitted detector"):
        ASDCurveDisplay.from_estimator("detector", rng.normal(size=(4, 2)), y)
    with pytest.raises(ValueError, match="ax must be None"):
        ASDCurveDisplay.from_predictions(y, s, ax="axes")


# ------------------------------------------------------------ score histogram
def test_score_histogram_counts_grid_and_threshold(rng):
    """Check each panel's counts equal numpy's histogram of that group."""
    n = 60
    y = (rng.random(n) < 0.3).astype(int)
    scores = rng.normal(size=n) + y
    sections = np.array(["00", "01", "02"])[rng.integers(0, 3, n)]
    domains = np.array(["source", "target"])[rng.integers(0, 2, n)]
    display = ScoreHistogramDisplay.from_predictions(
        y, scores, sections=sections, domains=domains, threshold=0.25, bins=7
    )
    assert display.axes_.shape == (3, 2)
    edges = np.histogram_bin_edges(scores, bins=7)
    np.testing.assert_array_equal(display.bin_edges_, edges)
    assert sorted(display.panels_) == [
        (s, d) for s in ("00", "01", "02") for d in ("source", "target")
    ]
    for (section, domain), ax in display.panels_.items():
        group = (sections == section) & (domains == domain)
        for bars, label in (
            (display.normal_bars_, 0),
            (display.anomalous_bars_, 1),
        ):
            values = scores[group & (y == label)]
            if values.size == 0:
                assert bars[(section, domain)] is None
                continue
            heights = [b.get_height() for b in bars[(section, domain)]]
            np.testing.assert_array_equal(heights, np.histogram(values, edges)[0])
        line = display.threshold_lines_[(section, domain)]
        np.testing.assert_array_equal(line.get_xdata(), [0.25, 0.25])
        assert line.axes is ax
        assert ax.get_title() == f"section {section}, {domain}"
    assert display.figure_ is display.axes_[0, 0].figure


def test_score_histogram_density_and_no_threshold(rng):
    """Check density=True normalises each histogram and threshold=None draws none."""
    y = np.r_[np.zeros(30), np.ones(5)].astype(int)
    scores = rng.normal(size=35)
    display = ScoreHistogramDisplay.from_predictions(y, scores, density=True)
    assert display.axes_.shape == (1, 1)
    key = (None, None)
    widths = np.diff(display.bin_edges_)
    for bars in (display.normal_bars_[key], display.anomalous_bars_[key]):
        heights = np.array([b.get_height() for b in bars])
        assert np.sum(heights * widths) == pytest.approx(1.0)
    assert display.threshold_lines_[key] is None
    assert display.axes_[0, 0].get_title() == "all clips"


def test_score_histogram_wraps_many_sections(rng):
    """Check 6 sections without domains fill rows of 4 panels, extras hidden."""
    sections = np.repeat([f"{i:02d}" for i in range(6)], 5)
    y = np.tile([0, 0, 0, 1, 1], 6)
    display = ScoreHistogramDisplay.from_predictions(
        y, rng.normal(size=30), sections=sections
    )
    assert display.axes_.shape == (2, 4)
    visible = [ax.get_visible() for ax in display.axes_.ravel()]
    assert visible == [True] * 6 + [False] * 2
    assert display.panels_[("05", None)] is display.axes_[1, 1]


def test_score_histogram_from_estimator_threshold_matches_predict(fitted):
    """Check the 'auto' threshold is -offset_ and separates predict's -1 from +1."""
    sounds, _, X, det = fitted
    display = ScoreHistogramDisplay.from_estimator(
        det, X, sounds.target, sections=sounds.sections, domains=sounds.domains
    )
    assert display.threshold == pytest.approx(-det.offset_)
    scores = det.anomaly_score(X, sections=sounds.sections)
    np.testing.assert_allclose(display.y_score, scores)
    np.testing.assert_array_equal(
        scores > display.threshold, det.predict(X, sections=sounds.sections) == -1
    )
    assert display.axes_.shape == (2, 2)
    line = display.threshold_lines_[("00", "source")]
    np.testing.assert_allclose(line.get_xdata(), [-det.offset_] * 2)
    assert display.figure_._suptitle.get_text() == "ContrastiveASDEstimator"


def test_score_histogram_from_sklearn_detector(rng):
    """Check IsolationForest: threshold 0 on -decision_function, sections group."""
    X = rng.normal(size=(40, 3))
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    X[y == 1] += 2.0
    sections = np.tile(["a", "b"], 20)
    iforest = IsolationForest(random_state=0).fit(X[y == 0])
    display = ScoreHistogramDisplay.from_estimator(
        iforest, X, y, sections=sections, bins=5
    )
    assert display.threshold == 0.0
    scores = -iforest.decision_function(X)
    np.testing.assert_array_equal(scores > 0, iforest.predict(X) == -1)
    edges = np.histogram_bin_edges(scores, bins=5)
    heights = [b.get_height() for b in display.anomalous_bars_[("b", None)]]
    np.testing.assert_array_equal(
        heights, np.histogram(scores[(sections == "b") & (y == 1)], edges)[0]
    )
    user = ScoreHistogramDisplay.from_estimator(iforest, X, y, threshold=0.1)
    np.testing.assert_array_equal(
        user.threshold_lines_[(None, None)].get_xdata(), [0.1, 0.1]
    )
    none = ScoreHistogramDisplay.from_estimator(iforest, X, y, threshold=None)
    assert none.threshold_lines_[(None, None)] is None


def test_score_histogram_given_axes_and_errors(rng):
    """Check ax= must hold one Axes per panel, and bad inputs raise."""
    y = [0, 0, 1, 0, 1, 0]
    s = rng.normal(size=6)
    sections = ["a", "a", "a", "b", "b", "b"]
    _, axes = plt.subplots(1, 2)
    display = ScoreHistogramDisplay.from_predictions(y, s, sections=sections, ax=axes)
    assert display.panels_[("a", None)] is axes[0]
    assert display.panels_[("b", None)] is axes[1]
    with pytest.raises(ValueError, match="draws 2 panel"):
        ScoreHistogramDisplay.from_predictions(y, s, sections=sections, ax=axes[0])
    with pytest.raises(ValueError, match="y_score has 5 samples"):
        ScoreHistogramDisplay.from_predictions(y, s[:5])
    with pytest.raises(ValueError, match="sections has 5 labels"):
        ScoreHistogramDisplay.from_predictions(y, s, sections=sections[:5])
    with pytest.raises(ValueError, match="DCASE convention"):
        ScoreHistogramDisplay.from_predictions([0, 2, 1, 0, 1, 0], s)
    with pytest.raises(ValueError, match='threshold must be "auto"'):
        ScoreHistogramDisplay.from_estimator(
            IsolationForest().fit(rng.normal(size=(6, 2))),
            rng.normal(size=(6, 2)),
            y,
            threshold="median",
        )
    with pytest.raises(NotFittedError):
        ScoreHistogramDisplay.from_estimator(
            IsolationForest(), rng.normal(size=(6, 2)), y
        )


# ---------------------------------------------------------------- spectrogram
def test_spectrogram_images_equal_transformer_outputs():
    """Check the images are the mel and median-filtered outputs, reshaped."""
    sounds = make_machine_sounds(
        n_normal=0,
        n_anomalous=1,
        n_sections=1,
        duration=0.5,
        anomaly_kinds=["click"],
        severity=1.0,
        random_state=0,
    )
    wave = sounds.data[0]
    mel = LogMelSpectrogram(**MEL).fit(sounds.data)
    X = mel.transform(sounds.data)
    mf = MedianFilter(n_mels=16, kernel_size=(1, 5)).fit(X)
    display = SpectrogramDisplay.from_transformers(mel, mf, wave)

    before = X.reshape(16, mel.n_frames_)
    after = mf.transform(X).reshape(16, mel.n_frames_)
    assert len(display.images_) == 2 and display.axes_.shape == (2,)
    np.testing.assert_array_equal(display.images_[0].get_array(), before)
    np.testing.assert_array_equal(display.images_[1].get_array(), after)
    assert not np.array_equal(before, after)  # the clicks were filtered
    # one colour scale for both panels
    lo, hi = min(before.min(), after.min()), max(before.max(), after.max())
    for image in display.images_:
        assert image.get_clim() == pytest.approx((lo, hi))
    assert [ax.get_title() for ax in display.axes_] == ["original", "processed"]
    # time axis in seconds: n_frames * hop_length / sr
    extent = display.images_[0].get_extent()
    assert extent[1] == pytest.approx(mel.n_frames_ * 128 / 16000)
    assert display.colorbar_ is not None

    alone = SpectrogramDisplay.from_transformers(mel, None, wave[None, :])
    assert len(alone.images_) == 1


def test_spectrogram_errors(rng):
    """Check unfitted or mismatched transformers and bad waveforms raise."""
    waves = rng.normal(size=(2, 4000)).astype(np.float32)
    mel = LogMelSpectrogram(**MEL).fit(waves)
    X = mel.transform(waves)
    mf = MedianFilter(n_mels=16).fit(X)
    with pytest.raises(NotFittedError):
        SpectrogramDisplay.from_transformers(LogMelSpectrogram(**MEL), mf, waves[0])
    with pytest.raises(NotFittedError):
        SpectrogramDisplay.from_transformers(mel, MedianFilter(n_mels=16), waves[0])
    with pytest.raises(ValueError, match="waveform must be one clip"):
        SpectrogramDisplay.from_transformers(mel, mf, waves)
    with pytest.raises(ValueError, match="features"):
        SpectrogramDisplay.from_transformers(mel, mf, waves[0, :3000])
    wrong_mels = MedianFilter(n_mels=8).fit(np.zeros((1, 8 * 64)))  # 512 features
    with pytest.raises(ValueError, match="n_mels=8"):
        SpectrogramDisplay.from_transformers(mel, wrong_mels, waves[0])
    stats = BandStatistics(n_mels=16).fit(X)
    with pytest.raises(ValueError, match="same shape"):
        SpectrogramDisplay.from_transformers(mel, stats, waves[0])
    with pytest.raises(TypeError, match="n_mels_ and n_frames_"):
        SpectrogramDisplay.from_transformers(mf, None, X[0])
    with pytest.raises(ValueError, match="one title per spectrogram"):
        SpectrogramDisplay(spectrograms=[np.zeros((2, 3))], titles=["a", "b"]).plot()


# ------------------------------------------------------------ training curves
def test_training_curves_equal_history(fitted):
    """Check one line per loss term, with the history's values per epoch."""
    _, _, _, det = fitted
    display = TrainingCurveDisplay.from_estimator(det)
    expected = [
        f"{prefix}_{term}"
        for prefix in ("train", "valid")
        for term in ("loss", "ce", "recon", "con")
    ]
    assert sorted(display.lines_) == sorted(expected)
    for key, line in display.lines_.items():
        np.testing.assert_allclose(line.get_ydata(), det.history_[:, key])
        np.testing.assert_array_equal(line.get_xdata(), [1, 2])
        assert line.get_linestyle() == ("--" if key.startswith("valid_") else "-")
    # train and valid of a term share a colour
    assert (
        display.lines_["train_ce"].get_color() == display.lines_["valid_ce"].get_color()
    )
    assert display.ax_.get_title() == "ContrastiveASDEstimator"

    subset = TrainingCurveDisplay.from_estimator(det, keys=["train_loss"])
    assert list(subset.lines_) == ["train_loss"]


def test_training_curves_errors(fitted, rng):
    """Check missing history, unfitted detectors and unknown keys raise."""
    _, _, _, det = fitted
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(ContrastiveASDEstimator(**DET))
    iforest = IsolationForest().fit(rng.normal(size=(5, 2)))
    with pytest.raises(ValueError, match="no training history"):
        TrainingCurveDisplay.from_estimator(iforest)
    with pytest.raises(ValueError, match="not recorded; available loss keys"):
        TrainingCurveDisplay.from_estimator(det, keys=["train_nonsense"])
    with pytest.raises(ValueError, match="history is empty"):
        TrainingCurveDisplay.from_history([])
    with pytest.raises(ValueError, match="records no train_"):
        TrainingCurveDisplay.from_history([{"epoch": 1, "dur": 0.1}])
    with pytest.raises(TypeError, match="skorch History or a list"):
        TrainingCurveDisplay.from_history({"train_loss": 1.0})
    with pytest.raises(ValueError, match="logy=True needs positive losses"):
        TrainingCurveDisplay.from_history(
            [{"train_loss": 1.0}, {"train_loss": -0.5}], logy=True
        )


def test_training_curves_nan_for_epochs_without_a_key():
    """Check a key missing in some epochs is drawn as NaN there, not shifted."""
    history = [
        {"epoch": 1, "train_loss": 2.0, "valid_loss": 2.5},
        {"epoch": 2, "train_loss": 1.0},
    ]
    display = TrainingCurveDisplay.from_history(history)
    np.testing.assert_array_equal(
        display.lines_["valid_loss"].get_ydata(), [2.5, np.nan]
    )


# ------------------------------------------------------------------- packaging
def test_missing_matplotlib_gives_install_hint(monkeypatch):
    """Check a clear ImportError naming the 'plot' extra when matplotlib is absent."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install \"sklearn-asd\[plot\]\""):
        ASDCurveDisplay.from_predictions([0, 1], [0.1, 0.9])
    with pytest.raises(ImportError, match=r"sklearn-asd\[plot\]"):
        TrainingCurveDisplay.from_history([{"train_loss": 1.0}])


def test_import_plotting_loads_neither_matplotlib_nor_torch():
    """Check importing sklearn_asd.plotting defers matplotlib (and torch)."""
    code = (
        "import sys, sklearn_asd.plotting\n"
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
