# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""
===============================================================
Contrastive detector vs the DCASE baselines and IsolationForest
===============================================================

Train, on the same log-mel features of synthetic machine sounds, the seed system
(:class:`~sklearn_asd.ContrastiveASDEstimator`), the DCASE MobileNetV2 baseline
(``branches="cnn"``), the DCASE autoencoder baseline and an IsolationForest on band
statistics, and print AUC / pAUC on held-out normal and anomalous clips.

Tiny configuration (2-s clips, 3 epochs) so that it runs in well under a minute on a
CPU; see ``docs/results.md`` for what larger runs show.
"""

# %%
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import BandStatistics, LogMelSpectrogram
from sklearn_asd.metrics import partial_auc_score

train = make_machine_sounds(n_normal=30, n_anomalous=0, duration=2.0, random_state=0)
test = make_machine_sounds(n_normal=30, n_anomalous=30, duration=2.0, random_state=1)
mel = LogMelSpectrogram(n_mels=64).fit(train.data)
X_train, X_test = mel.transform(train.data), mel.transform(test.data)

# %%
small = {"n_mels": 64, "patch_frames": 32, "patch_hop": 8, "last_channel": 256}
detectors = {
    "contrastive (seed CNN score)": ContrastiveASDEstimator(
        max_epochs=3, random_state=0, **small
    ),
    "MobileNetV2 baseline": ContrastiveASDEstimator(
        branches="cnn", max_epochs=3, random_state=0, **small
    ),
    "AE baseline": AutoencoderBaseline(n_mels=64, max_epochs=20, random_state=0),
}
scores = {}
for name, detector in detectors.items():
    detector.fit(X_train, sections=train.sections)
    scores[name] = detector.anomaly_score(X_test, sections=test.sections)
# the autoencoder branch of the same contrastive model, without refitting
contrastive = detectors["contrastive (seed CNN score)"]
scores["contrastive (AE-branch score)"] = contrastive.set_params(
    score_branch="ae"
).anomaly_score(X_test)
iforest = make_pipeline(BandStatistics(n_mels=64), IsolationForest(random_state=0))
scores["IsolationForest"] = -iforest.fit(X_train).decision_function(X_test)

# %%
print(f"{'detector':<32}{'AUC':>7}{'pAUC':>7}")
for name, score in scores.items():
    auc = roc_auc_score(test.target, score)
    pauc = partial_auc_score(test.target, score)
    print(f"{name:<32}{auc:>7.3f}{pauc:>7.3f}")
