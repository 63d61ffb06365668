# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fit-time augmentation of spectrogram patches (never Pipeline steps).

The seed system trains with mixup, time masking, frame shifting and a median filter.
Each augmentation here is a small scikit-learn-style object (``get_params`` /
``set_params``), so a detector's augmentation is tunable through nested parameters,
e.g. ``det__augmentation__mixup__alpha``. They act on a batch of patches, a torch
tensor of shape ``(batch, 1, n_mels, n_frames)``, inside the detector's ``fit``
only; scoring never augments. Randomness comes from a ``torch.Generator`` that the
detector seeds from its ``random_state``.

:class:`AugmentationChain` bundles them in a fixed order: frame shift, time mask,
random median filter, then mixup (which also mixes the labels).
"""

from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

__all__ = [
    "AugmentationChain",
    "FrameShift",
    "Mixup",
    "RandomMedianFilter",
    "TimeMask",
]


class _Augmentation(BaseEstimator):
    def _validate(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )


class FrameShift(_Augmentation):
    """Shift each patch in time by a random number of frames (circularly).

    Parameters
    ----------
    max_shift : int, default=8
        Shifts are drawn uniformly from ``[-max_shift, max_shift]`` frames.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.augment import FrameShift
    >>> x = torch.arange(6.0).reshape(1, 1, 1, 6)
    >>> g = torch.Generator().manual_seed(0)
    >>> FrameShift(max_shift=2)(x, g).sort().values.tolist() == x.tolist()
    True
    """

    _parameter_constraints: dict = {
        "max_shift": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, *, max_shift=8):
        self.max_shift = max_shift

    def __call__(self, x, generator):
        """Return a shifted copy of the batch ``x`` of shape (B, 1, M, T)."""
        import torch

        self._validate()
        n_frames = x.shape[-1]
        if self.max_shift == 0 or n_frames < 2:
            return x
        shifts = torch.randint(
            -self.max_shift, self.max_shift + 1, (x.shape[0],), generator=generator
        ).to(x.device)
        idx = (torch.arange(n_frames, device=x.device)[None, :] - shifts[:, None]) % (
            n_frames
        )
        return torch.gather(x, 3, idx[:, None, None, :].expand_as(x))


class TimeMask(_Augmentation):
    """Replace random spans of frames by the patch mean (SpecAugment time masking).

    Parameters
    ----------
    max_width : int, default=8
        Each mask covers ``[0, max_width]`` frames, drawn uniformly.
    n_masks : int, default=1
        Number of masks per patch.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.augment import TimeMask
    >>> x = torch.ones(2, 1, 3, 10)
    >>> g = torch.Generator().manual_seed(0)
    >>> torch.equal(TimeMask(max_width=4)(x, g), x)  # the mean of ones is one
    True
    """

    _parameter_constraints: dict = {
        "max_width": [Interval(Integral, 0, None, closed="left")],
        "n_masks": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, *, max_width=8, n_masks=1):
        self.max_width = max_width
        self.n_masks = n_masks

    def __call__(self, x, generator):
        """Return a masked copy of the batch ``x`` of shape (B, 1, M, T)."""
        import torch

        self._validate()
        batch, n_frames = x.shape[0], x.shape[-1]
        if self.max_width == 0 or self.n_masks == 0:
            return x
        frames = torch.arange(n_frames, device=x.device)[None, :]
        masked = torch.zeros(batch, n_frames, dtype=torch.bool, device=x.device)
        for _ in range(self.n_masks):
            width = torch.randint(
                0, self.max_width + 1, (batch, 1), generator=generator
            )
            start = (torch.rand(batch, 1, generator=generator) * n_frames).long()
            width, start = width.to(x.device), start.to(x.device)
            masked |= (frames >= start) & (frames < start + width)
        mean = x.mean(dim=(2, 3), keepdim=True)
        return torch.where(masked[:, None, None, :], mean, x)


class RandomMedianFilter(_Augmentation):
    """Median-filter a random subset of patches along time with a random kernel.

    The fit-time counterpart of :class:`~sklearn_asd.features.MedianFilter`: it
    teaches the detector to ignore the short-time noise that the filter removes. The
    window is centred and repeats the edge frames at the borders (as
    ``MedianFilter(mode="nearest")``).

    Parameters
    ----------
    kernel_sizes : tuple of int, default=(3, 5)
        Odd window lengths in frames; each filtered patch draws one.
    p : float, default=0.5
        Probability that a patch is filtered.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.augment import RandomMedianFilter
    >>> x = torch.zeros(1, 1, 1, 7)
    >>> x[..., 3] = 9.0  # a one-frame click
    >>> g = torch.Generator().manual_seed(0)
    >>> RandomMedianFilter(kernel_sizes=(3,), p=1.0)(x, g).abs().max().item()
    0.0
    """

    _parameter_constraints: dict = {
        "kernel_sizes": [tuple, list],
        "p": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, *, kernel_sizes=(3, 5), p=0.5):
        self.kernel_sizes = kernel_sizes
        self.p = p

    def __call__(self, x, generator):
        """Return a copy of the batch ``x`` with some patches filtered."""
        import torch

        self._validate()
        sizes = tuple(self.kernel_sizes)
        if not sizes or any(
            not isinstance(k, Integral) or k < 1 or k % 2 == 0 for k in sizes
        ):
            raise ValueError(
                f"kernel_sizes must be positive odd integers, got {self.kernel_sizes!r}"
            )
        batch = x.shape[0]
        chosen = torch.rand(batch, generator=generator) < self.p
        which = torch.randint(0, len(sizes), (batch,), generator=generator)
        out = x.clone()
        for i, k in enumerate(sizes):
            rows = torch.nonzero(chosen & (which == i)).flatten().to(x.device)
            if rows.numel() == 0 or k == 1:
                continue
            half = k // 2
            sub = x[rows]
            padded = torch.cat(
                [
                    sub[..., :1].expand(*sub.shape[:-1], half),
                    sub,
                    sub[..., -1:].expand(*sub.shape[:-1], half),
                ],
                dim=-1,
            )
            out[rows] = padded.unfold(-1, k, 1).median(dim=-1).values
        return out


class Mixup(_Augmentation):
    """Mix pairs of patches: ``lam * x_i + (1 - lam) * x_perm(i)``.

    The classification loss is mixed with the same weights (see the detector). One
    ``lam ~ Beta(alpha, alpha)`` per batch.

    Parameters
    ----------
    alpha : float, default=0.2
        Parameter of the Beta distribution.
    p : float, default=0.5
        Probability that a batch is mixed at all.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.augment import Mixup
    >>> x = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)])
    >>> g = torch.Generator().manual_seed(0)
    >>> mixed, perm, lam = Mixup(p=1.0)(x, g)
    >>> bool(((mixed >= 0) & (mixed <= 1)).all()), perm.shape, 0 <= lam <= 1
    (True, torch.Size([2]), True)
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "p": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, *, alpha=0.2, p=0.5):
        self.alpha = alpha
        self.p = p

    def __call__(self, x, generator):
        """Return ``(mixed, perm, lam)``; ``perm`` is None when not mixed."""
        import torch

        self._validate()
        if x.shape[0] < 2 or torch.rand(1, generator=generator).item() >= self.p:
            return x, None, 1.0
        lam = float(_beta_sample(self.alpha, generator))
        perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
        return lam * x + (1.0 - lam) * x[perm], perm, lam


def _beta_sample(alpha, generator):
    """Draw one Beta(alpha, alpha) value, seeded from the torch generator.

    torch's Beta distribution draws from the global RNG only; numpy's takes a seed.
    """
    import numpy as np
    import torch

    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
    return np.random.default_rng(seed).beta(alpha, alpha)


class AugmentationChain(_Augmentation):
    """The seed system's fit-time augmentations, applied in a fixed order.

    Order: ``frame_shift``, ``time_mask``, ``median_filter``, then ``mixup``. Set an
    entry to ``None`` to switch it off; every entry's own parameters are nested
    parameters of the detector (``augmentation__mixup__alpha``).

    Parameters
    ----------
    frame_shift : FrameShift or None, default=None
        Circular time shift of each patch.
    time_mask : TimeMask or None, default=None
        Time masking.
    median_filter : RandomMedianFilter or None, default=None
        Random median filtering.
    mixup : Mixup or None, default=None
        Mixup of patches and of their class targets.

    Examples
    --------
    >>> from sklearn_asd.augment import AugmentationChain, Mixup, TimeMask
    >>> chain = AugmentationChain(time_mask=TimeMask(max_width=4), mixup=Mixup())
    >>> chain.set_params(mixup__alpha=0.4).mixup
    Mixup(alpha=0.4)
    """

    _parameter_constraints: dict = {
        "frame_shift": [FrameShift, None],
        "time_mask": [TimeMask, None],
        "median_filter": [RandomMedianFilter, None],
        "mixup": [Mixup, None],
    }

    def __init__(
        self, *, frame_shift=None, time_mask=None, median_filter=None, mixup=None
    ):
        self.frame_shift = frame_shift
        self.time_mask = time_mask
        self.median_filter = median_filter
        self.mixup = mixup

    def __call__(self, x, generator):
        """Return ``(augmented, perm, lam)`` for a batch of shape (B, 1, M, T)."""
        self._validate()
        for step in (self.frame_shift, self.time_mask, self.median_filter):
            if step is not None:
                x = step(x, generator)
        if self.mixup is not None:
            return self.mixup(x, generator)
        return x, None, 1.0
