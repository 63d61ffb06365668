# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""
==========
Quickstart
==========

Train the seed system (:class:`~sklearn_asd.ContrastiveASDEstimator`) on normal
synthetic machine sounds only, in a scikit-learn
:class:`~sklearn.pipeline.Pipeline` of
:class:`~sklearn_asd.features.LogMelSpectrogram`,
:class:`~sklearn_asd.features.MedianFilter` and the detector, then score held-out
normal and anomalous clips and print the AUC and the McClish-standardized pAUC
(``max_fpr=0.1``, as DCASE).

The section of every clip reaches the detector through scikit-learn's metadata
routing. The configuration is tiny (1-s clips, 16 mel bands, 3 epochs) so that it
runs in seconds on a CPU: its numbers say nothing about the seed system's quality
(``docs/results.md`` has larger runs).
"""

# %%
# Data: normal clips to train on, normal and anomalous clips to test on
# ---------------------------------------------------------------------
# Two calls with different ``random_state`` simulate the same machines (the
# default ``machine_random_state=0``): a training and a test recording session.
# Labels follow DCASE: 0 = normal, 1 = anomalous.
import sklearn
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram, MedianFilter
from sklearn_asd.metrics import partial_auc_score

sounds = {"n_sections": 2, "duration": 1.0}  # sections "00" and "01"
train = make_machine_sounds(n_normal=32, n_anomalous=0, random_state=0, **sounds)
test = make_machine_sounds(n_normal=24, n_anomalous=24, random_state=1, **sounds)
sections = sorted(set(train.sections.tolist()))
print(f"train: {len(train.target)} normal clips, sections {sections}")
n_normal, n_anomalous = (test.target == 0).sum(), (test.target == 1).sum()
print(f"test:  {n_normal} normal + {n_anomalous} anomalous clips")

# %%
# The pipeline
# ------------
# Every step takes and returns one row per clip: waveforms, then flattened
# (n_mels x n_frames) log-mel spectrograms. ``n_mels`` must agree between the
# steps (a mismatch raises a ``ValueError``).
N_MELS = 16
pipe = Pipeline(
    [
        ("mel", LogMelSpectrogram(n_mels=N_MELS, n_fft=512, hop_length=256)),
        ("mf", MedianFilter(n_mels=N_MELS, kernel_size=(1, 5))),
        (
            "det",
            ContrastiveASDEstimator(
                n_mels=N_MELS,
                patch_frames=16,
                patch_hop=4,
                width=0.25,
                last_channel=64,
                embedding_dim=16,
                max_epochs=3,
                random_state=0,
            ),
        ),
    ]
)

# %%
# Fit on normal clips, score the test clips
# -----------------------------------------
# With metadata routing enabled, ``sections=`` goes to the detector's ``fit``
# and ``decision_function`` (it requests them by default).
# ``decision_function`` is higher for normal clips (scikit-learn's convention);
# DCASE metrics want the opposite sign.
with sklearn.config_context(enable_metadata_routing=True):
    pipe.fit(train.data, sections=train.sections)
    anomaly_score = -pipe.decision_function(test.data, sections=test.sections)

print(f"AUC  = {roc_auc_score(test.target, anomaly_score):.3f}")
print(f"pAUC = {partial_auc_score(test.target, anomaly_score):.3f}  (max_fpr=0.1)")

# %%
# The same model, scored by its autoencoder branch
# ------------------------------------------------
# The seed scores with the section classifier (the CNN branch). Both branches
# are trained, so the autoencoder's reconstruction error is available without
# refitting (``score_branch="ae"``). ``docs/results.md`` compares the two scores
# on larger runs.
detector = pipe[-1]
print(
    f"scored by: {detector.score_branch_} branch, classes {detector.classes_.tolist()}"
)
features = pipe[:-1].transform(test.data)
ae_score = detector.set_params(score_branch="ae").anomaly_score(features)
detector.set_params(score_branch="auto")
print(f"AE branch: AUC = {roc_auc_score(test.target, ae_score):.3f}, ", end="")
print(f"pAUC = {partial_auc_score(test.target, ae_score):.3f}")
