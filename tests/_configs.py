"""Tiny estimator configurations shared by the tests (one home for each).

The tests fit real models on 0.5-s synthetic clips or small random matrices, so
they use the smallest settings that still train every branch. A test module
takes one of these and overrides what its assertions need, for example
``tiny_contrastive(8, last_channel=16, max_epochs=2)``.

Import them as ``from _configs import ...``: ``tests/`` is on ``sys.path``
(pytest's ``pythonpath`` setting in ``pyproject.toml``).
"""

#: LogMelSpectrogram front end for 16-kHz clips (without ``n_mels``)
TINY_MEL = {"n_fft": 256, "hop_length": 128}

#: ContrastiveASDEstimator: a quarter-width MobileNetV2 on 8-frame patches, a
#: small autoencoder branch, one epoch (without ``n_mels``)
TINY_CONTRASTIVE = {
    "patch_frames": 8,
    "patch_hop": 4,
    "width": 0.25,
    "last_channel": 32,
    "embedding_dim": 8,
    "ae_hidden_dim": 16,
    "ae_bottleneck_dim": 4,
    "max_epochs": 1,
    "batch_size": 16,
    "random_state": 0,
}

#: AutoencoderBaseline: one hidden layer of 16, a bottleneck of 4 (without
#: ``n_mels``)
TINY_AE = {
    "hidden_dim": 16,
    "bottleneck_dim": 4,
    "n_hidden": 1,
    "max_epochs": 1,
    "batch_size": 32,
    "random_state": 0,
}


def tiny_mel(n_mels=16, **overrides):
    """Parameters of a tiny LogMelSpectrogram with ``n_mels`` bands."""
    return {"n_mels": n_mels, **TINY_MEL, **overrides}


def tiny_contrastive(n_mels=16, **overrides):
    """Parameters of a tiny ContrastiveASDEstimator on ``n_mels`` bands."""
    return {"n_mels": n_mels, **TINY_CONTRASTIVE, **overrides}


def tiny_ae(n_mels=16, **overrides):
    """Parameters of a tiny AutoencoderBaseline on ``n_mels`` bands."""
    return {"n_mels": n_mels, **TINY_AE, **overrides}


def param_specs(step, params):
    """``params`` as ``step__name=value`` strings (the CLI's ``--param`` values)."""
    return [f"{step}__{name}={value}" for name, value in params.items()]


#: ``--param`` values of the CLI's tiny contrastive pipeline on 16 mel bands
CLI_TINY = [
    *param_specs("mel", tiny_mel(16)),
    *param_specs("det", TINY_CONTRASTIVE),
]


# scikit-learn's common checks feed small random matrices (a handful of
# columns, up to a few hundred rows): one mel band, one-frame patches, one epoch
# and batches that hold a whole check's data, so each fit is a few optimiser
# steps of a 0.1-width network (the 16-row batches of two epochs took 6x longer)
_CHECK_NET = {"max_epochs": 1, "batch_size": 128, "random_state": 0}
#: ContrastiveASDEstimator in the common checks
CHECK_CONTRASTIVE = {
    "n_mels": 1,
    "patch_frames": 1,
    "patch_hop": 1,
    "width": 0.1,
    "last_channel": 8,
    "embedding_dim": 4,
    "ae_hidden_dim": 8,
    "ae_bottleneck_dim": 2,
    **_CHECK_NET,
}
#: AutoencoderBaseline in the common checks
CHECK_AE = {
    "n_mels": 1,
    "n_stack": 1,
    "hidden_dim": 8,
    "bottleneck_dim": 2,
    "n_hidden": 1,
    **_CHECK_NET,
}
