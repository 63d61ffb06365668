# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The neural detectors' score formulas, in torch (private).

One home for what a trained network's outputs become as anomaly scores: the
patches (or shared feature-map windows) a clip is scored on, the seed score
``logsumexp(z_{j != s}) - z_s`` averaged over patches, and the reconstruction
error averaged over a clip's patches or stacked-frame vectors. The detectors'
``anomaly_score`` (batched, on any device, aggregated in float64) and the
graph of :func:`~sklearn_asd.export.export_onnx` (float32, traced by
``torch.export``) both call them, so an exported model computes what the
estimator computes. Everything here is traceable: no data-dependent control
flow, shapes from the module's buffers.
"""

import numpy as np
import torch
from torch import nn

__all__ = []

#: MobileNetV2's total time stride: a feature-map column covers 32 frames.
_TIME_STRIDE = 32


def _window_index(n_frames, width, hop):
    """Frame indices ``(n_windows, width)`` of windows every ``hop`` frames."""
    n_windows = 1 + (n_frames - width) // hop
    starts = hop * np.arange(n_windows)
    return (starts[:, None] + np.arange(width)[None, :]).astype(np.int64)


def _others_mask(n_classes):
    """``(C, C)`` float32: ``-inf`` on the diagonal, 0 elsewhere."""
    others = np.zeros((n_classes, n_classes), dtype=np.float32)
    np.fill_diagonal(others, -np.inf)
    return torch.from_numpy(others)


def _seed_scores(z, others, dtype=None):
    """Seed score of every class, averaged over patches.

    Parameters
    ----------
    z : torch.Tensor of shape (batch, n_patches, n_classes)
        Logits of each patch.
    others : torch.Tensor of shape (n_classes, n_classes)
        :func:`_others_mask` of ``n_classes``.
    dtype : torch.dtype, default=None
        Dtype of the average over patches (``None``: that of ``z``).

    Returns
    -------
    scores : torch.Tensor of shape (batch, n_classes)
        ``log((1 - p_s) / p_s) = logsumexp(z_{j != s}) - z_s`` for every class
        ``s``, the patch mean.
    """
    a = torch.logsumexp(z[:, :, None, :] + others, dim=-1) - z
    if dtype is not None:
        a = a.to(dtype)
    return a.mean(dim=1)


def _squared_error(reconstruction, x, dim):
    """Mean squared reconstruction error over the dimensions ``dim``."""
    return ((reconstruction - x) ** 2).mean(dim=dim)


def _clip_mean(values, per_clip, dtype=None):
    """``(batch * per_clip,)`` item values -> ``(batch,)`` clip means."""
    if dtype is not None:
        values = values.to(dtype)
    return values.reshape(-1, per_clip).mean(dim=1)


def _stack_frames(S, n_stack):
    """Spectrograms ``(B, n_mels, n_frames)`` -> frame-major stacked vectors.

    Vector ``t`` of a clip holds frames ``t .. t + n_stack - 1``, frame by frame
    (the DCASE autoencoder baseline's layout), shape
    ``(B * (n_frames - n_stack + 1), n_stack * n_mels)``.
    """
    vectors = S.unfold(2, n_stack, 1).permute(0, 2, 3, 1)
    return vectors.reshape(-1, n_stack * S.shape[1])


class _ClipScorer(nn.Module):
    """Standardised log-mel clips ``(B, n_mels, n_frames)`` -> class scores ``(B, C)``.

    ``branch="cnn"``: the seed score of every class (:func:`_seed_scores`) of
    the MobileNetV2 ``network``, on patches of ``patch_frames`` frames every
    ``hop`` frames (``mode="patches"``) or on windows of the feature map of the
    whole clip (``mode="shared"``: windows of ``ceil(patch_frames / 32)``
    columns, one column apart). ``branch="ae"``: the mean over patches of the
    patch autoencoder ``network``'s reconstruction error, the same in every
    column.

    The detectors call :meth:`patches` and :meth:`cnn_outputs` on batches of
    clips and aggregate in float64; the exported graph calls :meth:`forward`.
    """

    def __init__(
        self, network, *, branch, mode, n_frames, patch_frames, hop, n_classes
    ):
        super().__init__()
        self.network = network
        self.branch = branch
        self.mode = mode
        self.patch_frames = int(patch_frames)
        self.n_classes = int(n_classes)
        if mode == "shared":
            n_columns = -(-n_frames // _TIME_STRIDE)
            width = min(-(-patch_frames // _TIME_STRIDE), n_columns)
            index = _window_index(n_columns, width, 1)
        else:
            index = _window_index(n_frames, patch_frames, hop)
        self.n_patches = index.shape[0]
        self.register_buffer("index", torch.from_numpy(index.ravel()))
        self.register_buffer("others", _others_mask(n_classes))

    def patches(self, S):
        """``(B, n_mels, n_frames)`` -> ``(B * n_patches, 1, n_mels, patch_frames)``."""
        n_mels = S.shape[1]
        windows = torch.index_select(S, 2, self.index)
        windows = windows.reshape(-1, n_mels, self.n_patches, self.patch_frames)
        return windows.permute(0, 2, 1, 3).reshape(-1, 1, n_mels, self.patch_frames)

    def cnn_outputs(self, S):
        """Logits ``(B, n_patches, C)`` and embeddings ``(B, n_patches, D)``."""
        if self.mode == "shared":
            columns = self.network.features(S[:, None]).mean(dim=2)  # (B, D, W')
            windows = torch.index_select(columns, 2, self.index)
            windows = windows.reshape(
                columns.shape[0], columns.shape[1], self.n_patches, -1
            ).mean(dim=3)
            embedding = windows.permute(0, 2, 1)  # (B, n_windows, D)
            logits = self.network.classify(embedding.reshape(-1, embedding.shape[2]))
        else:
            logits, embedding = self.network(self.patches(S))
            embedding = embedding.reshape(-1, self.n_patches, embedding.shape[1])
        return logits.reshape(-1, self.n_patches, self.n_classes), embedding

    def forward(self, S):
        """Anomaly score of every class ``(B, C)`` (DCASE sign)."""
        if self.branch == "ae":
            x = self.patches(S)
            reconstruction, _ = self.network(x)
            error = _squared_error(reconstruction, x, dim=(1, 2, 3))
            score = _clip_mean(error, self.n_patches)
            return score[:, None].expand(-1, self.n_classes)
        z, _ = self.cnn_outputs(S)
        return _seed_scores(z, self.others)
