import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd.augment import (
    AugmentationChain,
    FrameShift,
    Mixup,
    RandomMedianFilter,
    TimeMask,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(seed=0, shape=(16, 1, 4, 12)):
    """Random patches whose frames are all distinct (no ties)."""
    return torch.from_numpy(
        np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    )


def _matching_shift(x, out):
    """Return the circular shift s with roll(x, s) == out, or None."""
    for s in range(x.shape[-1]):
        if torch.equal(torch.roll(x, s, dims=-1), out):
            return s
    return None


# ------------------------------------------------------------------ FrameShift
def test_frame_shift_is_a_circular_shift_per_patch():
    """Check that FrameShift rolls every patch along time by at most max_shift."""
    x = _batch()
    x_before = x.clone()
    out = FrameShift(max_shift=3)(x, _gen())
    assert out.shape == x.shape
    assert torch.equal(x, x_before)  # the input is not modified
    n_frames = x.shape[-1]
    shifts = []
    for b in range(x.shape[0]):
        s = _matching_shift(x[b], out[b])
        assert s is not None, f"patch {b} is not a circular shift of its input"
        signed = s if s <= n_frames // 2 else s - n_frames
        assert abs(signed) <= 3
        shifts.append(signed)
    # one shift per patch, not one per batch
    assert len(set(shifts)) > 1


def test_frame_shift_keeps_frames_whole():
    """Check that FrameShift moves whole frames (all mel bands together)."""
    x = _batch(shape=(8, 1, 5, 10))
    out = FrameShift(max_shift=4)(x, _gen(1))
    for b in range(x.shape[0]):
        in_frames = {tuple(x[b, 0, :, t].tolist()) for t in range(x.shape[-1])}
        out_frames = {tuple(out[b, 0, :, t].tolist()) for t in range(x.shape[-1])}
        assert in_frames == out_frames


def test_frame_shift_zero_is_identity():
    """Check that FrameShift(max_shift=0) returns the input unchanged."""
    x = _batch()
    assert torch.equal(FrameShift(max_shift=0)(x, _gen()), x)


# -------------------------------------------------------------------- TimeMask
def test_time_mask_sets_spans_to_patch_mean():
    """Check that TimeMask replaces contiguous frame spans by the patch mean."""
    x = _batch(shape=(32, 1, 4, 20))
    x_before = x.clone()
    out = TimeMask(max_width=6, n_masks=1)(x, _gen())
    assert torch.equal(x, x_before)
    mean = x.mean(dim=(2, 3))  # (B, 1)
    n_masked_total = 0
    for b in range(x.shape[0]):
        changed = ~(out[b, 0] == x[b, 0]).all(dim=0)  # per frame
        frames = torch.nonzero(changed).flatten().tolist()
        n_masked_total += len(frames)
        assert len(frames) <= 6
        if frames:  # one mask -> one contiguous span
            assert frames == list(range(frames[0], frames[-1] + 1))
        for t in frames:
            torch.testing.assert_close(
                out[b, 0, :, t], mean[b].expand(x.shape[2]), rtol=0, atol=1e-6
            )
        unchanged = torch.nonzero(~changed).flatten()
        assert torch.equal(out[b, 0][:, unchanged], x[b, 0][:, unchanged])
    assert n_masked_total > 0


def test_time_mask_zero_width_is_identity():
    """Check that TimeMask with max_width=0 or n_masks=0 changes nothing."""
    x = _batch()
    assert torch.equal(TimeMask(max_width=0)(x, _gen()), x)
    assert torch.equal(TimeMask(max_width=5, n_masks=0)(x, _gen()), x)


# ---------------------------------------------------------- RandomMedianFilter
def _manual_median(x, k):
    """Median over k frames, repeating the edge frames (numpy)."""
    a = x.numpy()
    half = k // 2
    padded = np.concatenate(
        [np.repeat(a[..., :1], half, -1), a, np.repeat(a[..., -1:], half, -1)],
        axis=-1,
    )
    windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=-1)
    return torch.from_numpy(np.median(windows, axis=-1).astype(np.float32))


def test_random_median_filter_removes_one_frame_spike():
    """Check that a 3-frame median filter removes a one-frame click."""
    x = torch.zeros(2, 1, 3, 9)
    x[0, 0, 1, 4] = 50.0
    x[1, 0, :, 1] = -20.0  # next to the edge frame
    out = RandomMedianFilter(kernel_sizes=(3,), p=1.0)(x, _gen())
    assert torch.equal(out, torch.zeros_like(x))


def test_random_median_filter_matches_manual_median():
    """Check that p=1 with kernel 3 equals a manual edge-repeating median."""
    x = _batch(shape=(6, 1, 4, 11))
    out = RandomMedianFilter(kernel_sizes=(3,), p=1.0)(x, _gen())
    torch.testing.assert_close(out, _manual_median(x, 3), rtol=0, atol=0)
    out5 = RandomMedianFilter(kernel_sizes=(5,), p=1.0)(x, _gen())
    torch.testing.assert_close(out5, _manual_median(x, 5), rtol=0, atol=0)


def test_random_median_filter_p_zero_is_identity():
    """Check that RandomMedianFilter(p=0) returns the input unchanged."""
    x = _batch()
    assert torch.equal(RandomMedianFilter(kernel_sizes=(3, 5), p=0.0)(x, _gen()), x)


def test_random_median_filter_filters_a_subset():
    """Check that 0 < p < 1 filters some patches and leaves the others."""
    x = _batch(shape=(64, 1, 2, 9))
    out = RandomMedianFilter(kernel_sizes=(3,), p=0.5)(x, _gen())
    filtered = _manual_median(x, 3)
    n_filtered = 0
    for b in range(x.shape[0]):
        if torch.equal(out[b], filtered[b]):
            n_filtered += 1
        else:
            assert torch.equal(out[b], x[b])
    assert 10 < n_filtered < 54


@pytest.mark.parametrize("kernel_sizes", [(4,), (3, 2), (0,), ()])
def test_random_median_filter_rejects_even_kernel(kernel_sizes):
    """Check that even, zero or missing kernel sizes raise a ValueError."""
    with pytest.raises(ValueError, match="positive odd integers"):
        RandomMedianFilter(kernel_sizes=kernel_sizes, p=1.0)(_batch(), _gen())


# ----------------------------------------------------------------------- Mixup
def test_mixup_mixes_pairs():
    """Check that Mixup returns lam*x + (1-lam)*x[perm] with lam in [0, 1]."""
    x = _batch()
    for seed in range(5):
        mixed, perm, lam = Mixup(alpha=0.4, p=1.0)(x, _gen(seed))
        assert 0.0 <= lam <= 1.0
        assert sorted(perm.tolist()) == list(range(x.shape[0]))
        torch.testing.assert_close(mixed, lam * x + (1.0 - lam) * x[perm])


def test_mixup_p_zero_returns_input():
    """Check that Mixup(p=0) and a batch of one leave the input unchanged."""
    x = _batch()
    mixed, perm, lam = Mixup(p=0.0)(x, _gen())
    assert mixed is x
    assert perm is None
    assert lam == 1.0
    one = x[:1]
    mixed, perm, lam = Mixup(p=1.0)(one, _gen())
    assert torch.equal(mixed, one)
    assert perm is None


def test_mixup_validates_alpha():
    """Check that Mixup rejects a non-positive alpha when called."""
    with pytest.raises(InvalidParameterError, match="alpha"):
        Mixup(alpha=0.0, p=1.0)(_batch(), _gen())


# ----------------------------------------------------------------- determinism
@pytest.mark.parametrize(
    "augmentation",
    [
        FrameShift(max_shift=4),
        TimeMask(max_width=5, n_masks=2),
        RandomMedianFilter(kernel_sizes=(3, 5), p=0.5),
        Mixup(alpha=0.4, p=1.0),
    ],
    ids=["frame_shift", "time_mask", "median_filter", "mixup"],
)
def test_augmentations_are_deterministic_per_seed(augmentation):
    """Check that the same generator seed gives the same output (and not another)."""
    x = _batch(shape=(32, 1, 4, 16))

    def run(seed):
        out = augmentation(x, _gen(seed))
        return out[0] if isinstance(out, tuple) else out

    torch.testing.assert_close(run(3), run(3), rtol=0, atol=0)
    assert any(not torch.equal(run(3), run(seed)) for seed in (4, 5, 6))


# ----------------------------------------------------------- AugmentationChain
def test_chain_applies_steps_in_order_and_passes_mixup_through():
    """Check that the chain equals its steps applied in order with one generator."""
    steps = {
        "frame_shift": FrameShift(max_shift=3),
        "time_mask": TimeMask(max_width=4),
        "median_filter": RandomMedianFilter(kernel_sizes=(3,), p=0.5),
        "mixup": Mixup(alpha=0.4, p=1.0),
    }
    chain = AugmentationChain(**steps)
    x = _batch(shape=(16, 1, 4, 12))
    out, perm, lam = chain(x, _gen(7))

    g = _gen(7)
    y = x
    for name in ("frame_shift", "time_mask", "median_filter"):
        y = steps[name](y, g)
    expected, expected_perm, expected_lam = steps["mixup"](y, g)
    assert torch.equal(out, expected)
    assert torch.equal(perm, expected_perm)
    assert lam == expected_lam
    assert not torch.equal(out, x)


def test_chain_without_mixup_returns_no_permutation():
    """Check that a chain without mixup returns (x', None, 1.0) and None steps."""
    x = _batch()
    out, perm, lam = AugmentationChain()(x, _gen())
    assert torch.equal(out, x)
    assert perm is None
    assert lam == 1.0
    chain = AugmentationChain(time_mask=TimeMask(max_width=4))
    out, perm, lam = chain(x, _gen(1))
    assert torch.equal(out, TimeMask(max_width=4)(x, _gen(1)))
    assert perm is None
    assert lam == 1.0


def test_chain_nested_params():
    """Check that the chain exposes and sets its steps' nested parameters."""
    chain = AugmentationChain(mixup=Mixup(), time_mask=TimeMask())
    params = chain.get_params(deep=True)
    assert params["mixup__alpha"] == 0.2
    chain.set_params(mixup__alpha=0.4, time_mask__max_width=2)
    assert chain.mixup.alpha == 0.4
    assert chain.time_mask.max_width == 2


def test_chain_rejects_wrong_step_type():
    """Check that a step of the wrong type raises InvalidParameterError."""
    chain = AugmentationChain(mixup=TimeMask())
    with pytest.raises(InvalidParameterError, match="mixup"):
        chain(_batch(), _gen())
