import numpy as np
import torch

from sklearn_asd.models import MobileNetV2, PatchAutoencoder
from sklearn_asd.models._scoring import (
    _clip_mean,
    _ClipScorer,
    _others_mask,
    _seed_scores,
    _stack_frames,
)


def test_seed_score_is_log_odds_of_the_class():
    """Check the seed score is the patch mean of log((1 - p_s) / p_s)."""
    z = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))
    p = torch.softmax(z.double(), dim=-1)
    expected = torch.log((1 - p) / p).mean(dim=1)
    got = _seed_scores(z, _others_mask(4), torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert got.dtype == torch.float64


def test_patches_are_the_windows_every_hop_frames():
    """Check patches are (clip, patch)-ordered windows of patch_frames frames."""
    S = torch.arange(2 * 3 * 10, dtype=torch.float32).reshape(2, 3, 10)
    scorer = _ClipScorer(
        None,
        branch="cnn",
        mode="patches",
        n_frames=10,
        patch_frames=4,
        hop=3,
        n_classes=2,
    )
    expected = S.unfold(2, 4, 3).permute(0, 2, 1, 3).reshape(-1, 1, 3, 4)
    assert scorer.n_patches == 3
    torch.testing.assert_close(scorer.patches(S), expected, rtol=0, atol=0)


def test_shared_windows_pool_feature_map_columns():
    """Check shared mode classifies windows of ceil(patch_frames / 32) columns."""
    cnn = MobileNetV2(3, width=0.25, last_channel=8).eval()
    S = torch.randn(2, 8, 96, generator=torch.Generator().manual_seed(0))
    scorer = _ClipScorer(
        cnn,
        branch="cnn",
        mode="shared",
        n_frames=96,
        patch_frames=64,
        hop=8,
        n_classes=3,
    )
    with torch.no_grad():
        z, emb = scorer.cnn_outputs(S)
        columns = cnn.features(S[:, None]).mean(dim=2)  # 3 columns
        windows = columns.unfold(2, 2, 1).mean(dim=3).permute(0, 2, 1)
        expected = cnn.classify(windows.reshape(-1, 8)).reshape(2, 2, 3)
    assert scorer.n_patches == 2
    torch.testing.assert_close(emb, windows)
    torch.testing.assert_close(z, expected)


def test_autoencoder_score_is_mean_patch_mse_in_every_column():
    """Check the AE branch scores the mean over patches of the patch MSE."""
    ae = PatchAutoencoder(4, 2, hidden_dim=8, bottleneck_dim=2).eval()
    S = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(0))
    scorer = _ClipScorer(
        ae,
        branch="ae",
        mode="patches",
        n_frames=6,
        patch_frames=2,
        hop=2,
        n_classes=2,
    )
    with torch.no_grad():
        scores = scorer(S)
        x = scorer.patches(S)
        errors = ((ae(x)[0] - x) ** 2).mean(dim=(1, 2, 3)).reshape(3, 3)
    torch.testing.assert_close(scores[:, 0], errors.mean(dim=1))
    torch.testing.assert_close(scores[:, 1], scores[:, 0])


def test_stacked_frames_are_frame_major():
    """Check vector t holds frames t .. t + n_stack - 1, frame by frame."""
    S = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 3, 5)
    vectors = _stack_frames(S, 2)
    assert vectors.shape == (2 * 4, 6)
    np.testing.assert_array_equal(vectors[1].numpy(), S[0, :, 1:3].T.reshape(-1))
    means = _clip_mean(vectors.sum(dim=1), 4, torch.float64)
    assert means.shape == (2,) and means.dtype == torch.float64
