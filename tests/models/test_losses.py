import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from sklearn_asd.models import contrastive_loss


def _loop_terms(u, p, temperature, kind):
    """Direct loop implementation of the per-anchor terms L_i (float64)."""
    u = [row / row.norm() for row in u]
    p = [row / row.norm() for row in p]
    n = len(u)
    terms = []
    for i in range(n):
        numerator = math.exp(float(u[i] @ p[i]) / temperature)
        others = range(n) if kind == "infonce" else (j for j in range(n) if j != i)
        denominator = sum(math.exp(float(u[i] @ p[j]) / temperature) for j in others)
        terms.append(-math.log(numerator / denominator))
    return terms


def _loop_loss(u, p, temperature, kind):
    terms = _loop_terms(u, p, temperature, kind)
    return sum(terms) / len(terms)


def _simplex(n):
    """Unit vectors in R^n with pairwise inner products -1 / (n - 1)."""
    v = torch.eye(n, dtype=torch.float64) - 1.0 / n
    return v / v.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("kind", ["seed", "infonce"])
@pytest.mark.parametrize("batch_size, temperature", [(2, 0.1), (5, 0.5), (7, 1.0)])
def test_matches_loop_implementation(kind, batch_size, temperature):
    """Check both kinds against a direct loop over the formula."""
    g = torch.Generator().manual_seed(batch_size)
    u = torch.randn(batch_size, 3, generator=g, dtype=torch.float64)
    p = torch.randn(batch_size, 3, generator=g, dtype=torch.float64)
    loss = contrastive_loss(u, p, temperature=temperature, kind=kind)
    assert loss.dtype == torch.float64 and loss.shape == ()
    assert loss.item() == pytest.approx(_loop_loss(u, p, temperature, kind), 1e-10)


def test_infonce_is_softplus_of_seed_per_pair():
    """Check L_infonce_i = softplus(L_seed_i) for every anchor i."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(6, 5, generator=g, dtype=torch.float64)
    p = torch.randn(6, 5, generator=g, dtype=torch.float64)
    seed = torch.tensor(_loop_terms(u, p, 0.3, "seed"), dtype=torch.float64)
    infonce = torch.tensor(_loop_terms(u, p, 0.3, "infonce"), dtype=torch.float64)
    torch.testing.assert_close(F.softplus(seed), infonce)
    torch.testing.assert_close(
        contrastive_loss(u, p, temperature=0.3, kind="infonce"),
        F.softplus(seed).mean(),
    )
    # softplus is convex and positive: InfoNCE >= softplus(seed loss) > 0
    assert contrastive_loss(u, p, temperature=0.3, kind="infonce") >= F.softplus(
        contrastive_loss(u, p, temperature=0.3)
    )


@pytest.mark.parametrize("batch_size", [2, 3, 6])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_seed_loss_bounds(batch_size, temperature):
    """Check the documented bounds and that the lower bound is attained.

    log(B-1) - B / ((B-1) rho) <= loss <= log(B-1) + 2 / rho, with equality
    below for u_i = p_i on a centred regular simplex.
    """
    b = batch_size
    lower = math.log(b - 1) - b / ((b - 1) * temperature)
    upper = math.log(b - 1) + 2 / temperature
    simplex = _simplex(b)
    attained = contrastive_loss(simplex, simplex, temperature=temperature)
    assert attained.item() == pytest.approx(lower, abs=1e-10)
    if temperature == 0.1:
        assert attained.item() < 0  # negative, unlike InfoNCE
    g = torch.Generator().manual_seed(b)
    for _ in range(200):
        u = torch.randn(b, 3, generator=g, dtype=torch.float64)
        p = torch.randn(b, 3, generator=g, dtype=torch.float64)
        loss = contrastive_loss(u, p, temperature=temperature).item()
        assert lower - 1e-12 <= loss <= upper + 1e-12
    # minimising the loss directly does not go below the bound either
    u = torch.randn(b, b, generator=g, dtype=torch.float64, requires_grad=True)
    p = torch.randn(b, b, generator=g, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([u, p], lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = contrastive_loss(u, p, temperature=temperature)
        loss.backward()
        optimizer.step()
    assert lower - 1e-9 <= loss.item() < lower + 0.05 * abs(lower) + 0.05


def test_two_pair_extremes():
    """Check B=2 reaches -2/rho when aligned and +2/rho when anti-aligned."""
    u = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    assert contrastive_loss(u, u, temperature=0.1).item() == pytest.approx(-20.0)
    assert contrastive_loss(u, -u, temperature=0.1).item() == pytest.approx(20.0)


def test_gradients_reach_both_inputs():
    """Check the loss back-propagates to u and to p."""
    torch.manual_seed(0)
    u = torch.randn(4, 3, requires_grad=True)
    p = torch.randn(4, 3, requires_grad=True)
    for kind in ("seed", "infonce"):
        u.grad = p.grad = None
        contrastive_loss(u, p, kind=kind).backward()
        assert u.grad.abs().sum() > 0 and p.grad.abs().sum() > 0
        assert torch.isfinite(u.grad).all() and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("kind", ["seed", "infonce"])
def test_invariant_to_row_rescaling(kind):
    """Check positive rescaling of any row of u or p leaves the loss unchanged."""
    g = torch.Generator().manual_seed(1)
    u = torch.randn(5, 4, generator=g, dtype=torch.float64)
    p = torch.randn(5, 4, generator=g, dtype=torch.float64)
    scale = torch.rand(5, 1, generator=g, dtype=torch.float64) * 100 + 0.01
    reference = contrastive_loss(u, p, kind=kind)
    torch.testing.assert_close(contrastive_loss(u * scale, p, kind=kind), reference)
    torch.testing.assert_close(contrastive_loss(u, 1e3 * p, kind=kind), reference)


@pytest.mark.parametrize("kind", ["seed", "infonce"])
def test_aligned_pairs_score_lower_than_shuffled(kind):
    """Check matching pairs give a lower loss than every non-trivial shuffle."""
    g = torch.Generator().manual_seed(2)
    u = torch.randn(4, 8, generator=g)
    p = u + 0.1 * torch.randn(4, 8, generator=g)
    aligned = contrastive_loss(u, p, kind=kind)
    for perm in itertools.permutations(range(4)):
        if list(perm) != [0, 1, 2, 3]:
            assert aligned < contrastive_loss(u, p[list(perm)], kind=kind)


def test_numerically_stable_at_tiny_temperature():
    """Check a tiny temperature gives a finite loss and gradients in float32."""
    torch.manual_seed(0)
    u = torch.randn(8, 16, requires_grad=True)
    p = torch.randn(8, 16, requires_grad=True)
    for kind in ("seed", "infonce"):
        loss = contrastive_loss(u, p, temperature=1e-4, kind=kind)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(u.grad).all()


def test_invalid_arguments_raise():
    """Check clear ValueErrors for bad batch sizes, shapes, kinds, temperatures."""
    u = torch.randn(4, 3)
    with pytest.raises(ValueError, match="at least 2"):
        contrastive_loss(u[:1], u[:1])
    with pytest.raises(ValueError, match="same shape"):
        contrastive_loss(u, u[:, :2])
    with pytest.raises(ValueError, match="same shape"):
        contrastive_loss(u[0], u[0])
    with pytest.raises(ValueError, match="kind"):
        contrastive_loss(u, u, kind="ntxent")
    for temperature in (0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="temperature"):
            contrastive_loss(u, u, temperature=temperature)
