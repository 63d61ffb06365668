# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
r"""Contrastive loss between the CNN and the autoencoder embeddings.

With ``u_i`` the (projected) CNN embedding and ``p_i`` the (projected)
autoencoder embedding of patch ``i``, both L2-normalised, and
``s_ij = <u_i, p_j> / rho``:

- ``kind="seed"`` (the seed system's formula)::

      L_i = -log( exp(s_ii) / sum_{j != i} exp(s_ij) )
          = logsumexp_{j != i}(s_ij) - s_ii

  The denominator excludes the positive pair.
- ``kind="infonce"`` (standard InfoNCE / NT-Xent in one direction)::

      L_i = logsumexp_j(s_ij) - s_ii = cross_entropy(s_i, i)

Both are averaged over ``i``. The two are related exactly by
``L_i^infonce = softplus(L_i^seed)``: with ``q_i = softmax_j(s_ij)[i]`` the
probability InfoNCE gives the positive pair, ``L_i^seed = -logit(q_i)`` and
``L_i^infonce = -log(q_i)``. The seed loss does not saturate (its gradient
with respect to ``s_ii`` is always -1, InfoNCE's is ``-(1 - q_i)``), so it
keeps pushing pairs that are already well separated; without normalisation
it would be unbounded below (scaling the embeddings scales it). With
normalised rows it is bounded:

.. math::

    \log(B - 1) - \frac{B}{(B - 1)\rho}
    \;\le\; \frac{1}{B}\sum_i L_i \;\le\; \log(B - 1) + \frac{2}{\rho}.

The lower bound is tight: by Jensen's inequality the mean loss is at least
``log(B-1) + mean_{i != j} s_ij - mean_i s_ii``, and since
``sum_{i,j} <u_i - u_j, p_i - p_j> <= 2 B^2`` for unit vectors this is at
least ``log(B-1) - B / ((B-1) rho)``, with equality when ``u_i = p_i`` and
the ``p_i`` form a centred regular simplex (``<p_i, p_j> = -1/(B-1)``,
possible when the dimension is at least ``B - 1``). For ``B = 2`` it is
``-2 / rho`` (``u_1 = p_1 = -u_2 = -p_2``). The upper bound (every
``s_ij`` at its extreme) is tight for ``B = 2`` only. ``L_i^seed < 0``
exactly when ``q_i > 1/2``, so unlike InfoNCE the loss turns negative once
training aligns the pairs. For ``B = 32`` and ``rho = 0.1`` the range is
about ``[-6.89, 23.43]`` (InfoNCE: ``[0.001, 23.43]``).
"""

import math
from numbers import Real

import torch
import torch.nn.functional as F

__all__ = ["contrastive_loss"]

_KINDS = ("seed", "infonce")


def contrastive_loss(u, p, *, temperature=0.1, kind="seed"):
    """Return the mean contrastive loss between two batches of embeddings.

    Row ``i`` of ``u`` and row ``i`` of ``p`` are the positive pair; every
    other row of ``p`` is a negative for ``u_i``. Rows are L2-normalised
    first, so the loss does not depend on the embeddings' scale. See the
    module docstring for the formulas and the bounds of the seed loss.

    Parameters
    ----------
    u : torch.Tensor of shape (batch, dim)
        Anchor embeddings (the CNN branch).
    p : torch.Tensor of shape (batch, dim)
        Positive embeddings (the autoencoder branch).
    temperature : float, default=0.1
        Temperature ``rho`` (> 0) dividing the cosine similarities.
    kind : {"seed", "infonce"}, default="seed"
        ``"seed"``: the seed system's loss, whose denominator excludes the
        positive pair (``logsumexp_{j != i} s_ij - s_ii``; can be negative,
        bounded below by ``log(B - 1) - B / ((B - 1) * temperature)``).
        ``"infonce"``: standard InfoNCE, denominator over all ``j``
        (``cross_entropy(s, arange(B))``; always >= 0).

    Returns
    -------
    loss : torch.Tensor
        Scalar, the mean of ``L_i`` over the batch, in the dtype of the
        inputs.

    Raises
    ------
    ValueError
        If the inputs are not 2-D tensors of the same shape, the batch has
        fewer than 2 rows (a single pair has no negatives), ``temperature``
        is not > 0 or ``kind`` is unknown.

    Examples
    --------
    >>> import torch
    >>> from sklearn_asd.models import contrastive_loss
    >>> u = torch.eye(2)
    >>> float(contrastive_loss(u, u, temperature=0.5))  # (0 - 1) / 0.5
    -2.0
    >>> float(contrastive_loss(u, -u, temperature=0.5))
    2.0
    >>> round(float(contrastive_loss(u, u, temperature=0.5, kind="infonce")), 4)
    0.1269
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    if isinstance(temperature, bool) or not (
        isinstance(temperature, Real) and temperature > 0
    ):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}.")
    if u.ndim != 2 or p.ndim != 2 or u.shape != p.shape:
        raise ValueError(
            "u and p must be 2-D tensors of the same shape (batch, dim), got "
            f"{tuple(u.shape)} and {tuple(p.shape)}."
        )
    batch_size = u.shape[0]
    if batch_size < 2:
        raise ValueError(
            "The contrastive loss needs a batch of at least 2 pairs (the other "
            f"pairs are the negatives), got a batch of {batch_size}. Drop or "
            "merge the last short batch."
        )
    u = F.normalize(u, dim=1)
    p = F.normalize(p, dim=1)
    logits = u @ p.T / temperature
    if kind == "infonce":
        target = torch.arange(batch_size, device=logits.device)
        return F.cross_entropy(logits, target)
    positive = torch.diagonal(logits)
    eye = torch.eye(batch_size, dtype=torch.bool, device=logits.device)
    negatives = torch.logsumexp(logits.masked_fill(eye, -math.inf), dim=1)
    return (negatives - positive).mean()
