# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""
=====================================================================
ROC with the pAUC region, score histograms and training curves
=====================================================================

Train a tiny :class:`~sklearn_asd.ContrastiveASDEstimator` on synthetic machine
sounds (two sections, source and target domains), then look at it with the
plotting Displays of :mod:`sklearn_asd.plotting`:

- :class:`~sklearn_asd.plotting.ASDCurveDisplay`: ROC curve, pAUC region
  (false-positive rate up to 0.1), AUC and McClish-standardized pAUC, for the
  seed's section-classifier score and for the autoencoder branch of the same
  model;
- :class:`~sklearn_asd.plotting.ScoreHistogramDisplay`: anomaly scores of normal
  and anomalous clips per section and domain, with the detector's decision
  threshold;
- :class:`~sklearn_asd.plotting.TrainingCurveDisplay`: the loss terms recorded in
  ``history_`` per epoch, on training and held-out clips.

Tiny configuration (2-s clips, 5 epochs) so that it runs in well under a minute
on a CPU. Run it as ``python plot_roc_and_scores.py OUTPUT_DIR`` to save the
figures as PNG files.
"""

# %%
import sys
from pathlib import Path

import matplotlib

if not (hasattr(sys, "ps1") or sys.flags.interactive):
    matplotlib.use("Agg")  # scripts and CI draw off screen, never open windows
import matplotlib.pyplot as plt

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram
from sklearn_asd.plotting import (
    ASDCurveDisplay,
    ScoreHistogramDisplay,
    TrainingCurveDisplay,
)

sounds = {"n_sections": 2, "duration": 2.0, "domain_shift": True}
train = make_machine_sounds(n_normal=40, n_anomalous=0, random_state=0, **sounds)
test = make_machine_sounds(n_normal=40, n_anomalous=40, random_state=1, **sounds)
mel = LogMelSpectrogram(n_mels=64).fit(train.data)
X_train, X_test = mel.transform(train.data), mel.transform(test.data)

# 20 % of the training clips are held out to record validation losses
detector = ContrastiveASDEstimator(
    n_mels=64,
    patch_frames=32,
    patch_hop=8,
    last_channel=256,
    max_epochs=5,
    validation_fraction=0.2,
    random_state=0,
).fit(X_train, sections=train.sections)
figures = {}

# %%
# ROC curve and pAUC region
# -------------------------
# The seed scores with the section classifier (``score_branch="cnn"``); the
# autoencoder branch of the same trained model gives a second score without
# refitting.
fig, ax = plt.subplots(figsize=(6.5, 6.5), layout="constrained")
cnn = ASDCurveDisplay.from_estimator(
    detector,
    X_test,
    test.target,
    sections=test.sections,
    name="CNN branch (seed score)",
    ax=ax,
    plot_chance_level=True,
)
ae_scores = detector.set_params(score_branch="ae").anomaly_score(X_test)
detector.set_params(score_branch="auto")
ae = ASDCurveDisplay.from_predictions(test.target, ae_scores, name="AE branch", ax=ax)
print(f"CNN branch: AUC = {cnn.roc_auc:.3f}, pAUC = {cnn.pauc:.3f}")
print(f"AE branch:  AUC = {ae.roc_auc:.3f}, pAUC = {ae.pauc:.3f}")
figures["roc_pauc"] = fig

# %%
# Score histograms per section and domain
# ---------------------------------------
# The dashed line is the detector's threshold (``-offset_`` in anomaly-score
# units, the 0.9 quantile of a gamma fit to the training scores): clips to its
# right are predicted anomalous.
histograms = ScoreHistogramDisplay.from_estimator(
    detector,
    X_test,
    test.target,
    sections=test.sections,
    domains=test.domains,
    bins=15,
)
flagged = detector.predict(X_test, sections=test.sections) == -1
print(
    f"threshold = {histograms.threshold:.3f}: flags "
    f"{flagged[test.target == 1].mean():.0%} of anomalous and "
    f"{flagged[test.target == 0].mean():.0%} of normal test clips"
)
figures["score_histograms"] = histograms.figure_

# %%
# Training curves
# ---------------
# ``train_*`` on the training clips (solid), ``valid_*`` on the held-out clips
# (dashed): the total loss and its unweighted terms, cross-entropy of the
# section classifier (``ce``), reconstruction MSE (``recon``) and contrastive
# loss (``con``).
curves = TrainingCurveDisplay.from_estimator(detector)
last = {key: line.get_ydata()[-1] for key, line in curves.lines_.items()}
print("last epoch:", ", ".join(f"{k} = {v:.3f}" for k, v in last.items()))
figures["training_curves"] = curves.figure_

# %%
# In a run this short the section classifier fits the training clips (``train_ce``
# falls) but its held-out cross-entropy stays near ln 2 = 0.69, chance for two
# sections, and its score barely ranks anomalies above normal clips; the
# autoencoder branch of the same model does better. ``docs/results.md`` discusses
# longer runs.
if __name__ == "__main__" and len(sys.argv) > 1:
    output_dir = Path(sys.argv[1])
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(output_dir / f"{name}.png", dpi=120)
    print(f"saved {len(figures)} figures to {output_dir}")
