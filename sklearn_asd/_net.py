# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Private skorch net and lazy patch datasets behind the neural detectors.

The public estimators compose this net (``self.net_``) instead of inheriting from
skorch: a subclass of ``NeuralNet`` fails most of scikit-learn's common checks.
"""

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from sklearn_asd.models import contrastive_loss

__all__ = []


class _PatchDataset(torch.utils.data.Dataset):
    """Windows of ``patch_frames`` frames, sliced from the spectrograms on access.

    Holds only the spectrograms ``S`` (n_clips, n_mels, n_frames); the overlapping
    patches are never materialised (that would cost ``patch_frames / patch_hop``
    times the memory of ``S``).
    """

    def __init__(self, S, labels, patch_frames, patch_hop):
        self.S = torch.from_numpy(np.ascontiguousarray(S, dtype=np.float32))
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.patch_frames = patch_frames
        self.patch_hop = patch_hop
        self.per_clip = 1 + (S.shape[2] - patch_frames) // patch_hop

    def __len__(self):
        return self.S.shape[0] * self.per_clip

    def __getitem__(self, i):
        clip, k = divmod(int(i), self.per_clip)
        start = k * self.patch_hop
        return self.S[clip, None, :, start : start + self.patch_frames], self.labels[
            clip
        ]


class _FrameStackDataset(torch.utils.data.Dataset):
    """Vectors of ``n_stack`` consecutive frames (DCASE AE baseline), built lazily.

    Vector ``t`` of a clip is frames ``t .. t + n_stack - 1`` concatenated frame by
    frame (the DCASE baseline's ``vector_array[:, n_mels*i:n_mels*(i+1)] =
    log_mel[:, i:i+n_vectors].T``).
    """

    def __init__(self, S, n_stack):
        self.S = torch.from_numpy(np.ascontiguousarray(S, dtype=np.float32))
        self.n_stack = n_stack
        self.per_clip = S.shape[2] - n_stack + 1

    def __len__(self):
        return self.S.shape[0] * self.per_clip

    def __getitem__(self, i):
        clip, t = divmod(int(i), self.per_clip)
        x = self.S[clip, :, t : t + self.n_stack].T.reshape(-1)
        return x, torch.zeros((), dtype=torch.int64)


def _as_dict(out):
    """Normalise module outputs to a dict (dual model, MobileNetV2, plain AE)."""
    if isinstance(out, dict):
        return out
    if isinstance(out, tuple):  # MobileNetV2: (logits, embedding)
        return {"logits": out[0]}
    return {"reconstruction": out}


class _ASDNet(NeuralNet):
    """NeuralNet whose loss is CE(section) + alpha * MSE + lambda * contrastive.

    Terms are present when the module produces them: ``logits`` (classification),
    ``reconstruction`` (autoencoder), ``u``/``p`` (contrastive). The batch-level
    terms are recorded in the history as ``train_ce``, ``train_recon``,
    ``train_con`` (and ``valid_*``), averaged per epoch by ``PassthroughScoring``.
    Augmentation runs in ``train_step_single`` only, seeded by ``aug_seed``.
    """

    def __init__(
        self,
        module,
        criterion,
        reconstruction_weight=1.0,
        contrastive_weight=0.0,
        temperature=0.1,
        contrastive_kind="seed",
        augmentation=None,
        aug_seed=0,
        precision="float32",
        **kwargs,
    ):
        super().__init__(module, criterion, **kwargs)
        self.reconstruction_weight = reconstruction_weight
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.contrastive_kind = contrastive_kind
        self.augmentation = augmentation
        self.aug_seed = aug_seed
        self.precision = precision

    def initialize(self):
        super().initialize()
        self.aug_generator_ = torch.Generator().manual_seed(int(self.aug_seed))
        return self

    def autocast(self):
        """Mixed-precision context of the forward passes (bfloat16 autocast)."""
        if self.precision != "bfloat16":
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)

    def _loss_terms(self, out, X, y, perm=None, lam=1.0):
        out = _as_dict(out)
        terms = {}
        total = 0.0
        if "logits" in out:
            logits = out["logits"]
            ce = F.cross_entropy(logits, y)
            if perm is not None:
                ce = lam * ce + (1.0 - lam) * F.cross_entropy(logits, y[perm])
            terms["ce"] = ce
            total = total + ce
        if "reconstruction" in out:
            recon = F.mse_loss(out["reconstruction"], X)
            terms["recon"] = recon
            total = total + self.reconstruction_weight * recon
        # the contrastive loss needs two pairs; only a last validation batch can
        # hold one patch (training never gets a batch of one)
        if "u" in out and self.contrastive_weight > 0 and out["u"].shape[0] >= 2:
            con = contrastive_loss(
                out["u"],
                out["p"],
                temperature=self.temperature,
                kind=self.contrastive_kind,
            )
            terms["con"] = con
            total = total + self.contrastive_weight * con
        return total, terms

    def _record(self, prefix, terms):
        for name, value in terms.items():
            self.history.record_batch(f"{prefix}_{name}", float(value.item()))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        total, _ = self._loss_terms(y_pred, to_tensor(X, self.device), y_true)
        return total

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        perm, lam = None, 1.0
        if self.augmentation is not None:
            Xi, perm, lam = self.augmentation(Xi, self.aug_generator_)
        with self.autocast():
            out = self.infer(Xi, **fit_params)
            loss, terms = self._loss_terms(out, Xi, yi, perm, lam)
        loss.backward()
        self._record("train", terms)
        return {"loss": loss, "y_pred": _as_dict(out)}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        with torch.no_grad(), self.autocast():
            out = self.infer(Xi, **fit_params)
            loss, terms = self._loss_terms(out, Xi, yi)
        self._record("valid", terms)
        return {"loss": loss, "y_pred": _as_dict(out)}


def _reestimate_batchnorm(module, dataset, batch_size, device, autocast):
    """Set every BatchNorm's running statistics to their mean over ``dataset``.

    BatchNorm's running statistics are an exponential average (momentum 0.1) of
    batch statistics taken while the weights were still moving. After a short
    training run (tens of optimiser steps, as on small data) they lag so far
    behind the final weights that the network in eval mode gives almost the same
    output for every input: the section classifier was at chance in eval mode
    while at 100 % accuracy in train mode. One pass over the (unaugmented)
    training patches with the final weights, averaging the batch statistics
    (``momentum=None``), fixes that; the weights are untouched (as
    ``torch.optim.swa_utils.update_bn`` does for SWA).
    """
    bns = [
        m
        for m in module.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average of the batch statistics
    n = len(dataset)
    # a last batch of one has no variance: drop it (as training does)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, drop_last=n % batch_size == 1 and n > 1
    )
    was_training = module.training
    module.train()
    try:
        with torch.no_grad(), autocast:
            for x, _ in loader:
                module(x.to(device))
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        module.train(was_training)
