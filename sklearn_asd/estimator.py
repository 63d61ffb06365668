# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Neural anomalous-sound detectors with the scikit-learn outlier-detector API.

- :class:`ContrastiveASDEstimator`: the seed system (DCASE 2021 Task 2): an
  autoencoder branch and a MobileNetV2 branch see the same log-mel patch; the
  MobileNetV2 learns to classify sections, the autoencoder to reconstruct, and a
  contrastive loss pulls their embeddings together. Scoring uses the MobileNetV2
  branch only.
- ``ContrastiveASDEstimator(branches="cnn")``: the DCASE 2021 MobileNetV2
  baseline, i.e. the CNN branch alone (no autoencoder, no projection heads are
  built), trained with cross-entropy only.
- :class:`AutoencoderBaseline`: the DCASE 2020/2021 autoencoder baseline
  (5 stacked frames, dense 128x4 / 8 autoencoder, reconstruction-error score).

All take flattened log-mel spectrograms ``(n_clips, n_mels * n_frames)`` as
produced by :class:`~sklearn_asd.features.LogMelSpectrogram`, and follow
IsolationForest's conventions: ``score_samples`` is higher for normal clips,
``decision_function = score_samples - offset_``, ``predict`` gives +1 (normal) /
-1 (anomalous). ``anomaly_score`` gives the DCASE sign (higher = more anomalous).
"""

# The classes live in private modules (one per detector, the shared base in
# sklearn_asd._neural); this is their public home. Models pickled before the
# split name sklearn_asd.estimator.ContrastiveASDEstimator and
# sklearn_asd.estimator.AutoencoderBaseline: these imports resolve them.
from sklearn_asd._autoencoder_baseline import AutoencoderBaseline
from sklearn_asd._contrastive import ContrastiveASDEstimator

__all__ = ["AutoencoderBaseline", "ContrastiveASDEstimator"]
