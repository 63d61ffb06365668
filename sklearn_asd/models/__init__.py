# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pure PyTorch models of the dual-branch contrastive detector.

No scikit-learn API here: these are ``torch.nn.Module`` objects that the
estimator wraps.

MobileNetV2
    Section classifier on log-mel patches (the inference network).
PatchAutoencoder
    Dense autoencoder on the same patch (the AE branch).
FrameStackAutoencoder
    The DCASE 2020/2021 autoencoder baseline on 5 stacked frames.
DualBranchASD
    MobileNetV2 + PatchAutoencoder + projection heads, for training.
contrastive_loss
    The seed system's contrastive loss (or standard InfoNCE).
"""

from sklearn_asd.models._autoencoder import FrameStackAutoencoder, PatchAutoencoder
from sklearn_asd.models._dual import DualBranchASD
from sklearn_asd.models._losses import contrastive_loss
from sklearn_asd.models._mobilenetv2 import MobileNetV2

__all__ = [
    "DualBranchASD",
    "FrameStackAutoencoder",
    "MobileNetV2",
    "PatchAutoencoder",
    "contrastive_loss",
]
