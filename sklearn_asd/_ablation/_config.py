# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Rows, settings and file columns of the ablation (no heavy imports)."""

from dataclasses import dataclass

__all__ = []

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
#: Default results folder of ``sklearn-asd ablation`` (``benchmarks/ablation.py``
#: keeps ``benchmarks/results``).
DEFAULT_OUT = "ablation_results"


class UsageError(ValueError):
    """A bad command line or data tree (reported in one line, exit code 2)."""


@dataclass(frozen=True)
class Row:
    """One line of the ablation table."""

    id: str
    label: str
    kind: str  # "contrastive", "ae", "iforest", "pyod_emb", "pyod_ae"
    median_filter: bool = False
    branches: str = "cnn"

    @property
    def uses_classes(self):
        """Whether the row's detector is a section classifier."""
        return self.kind == "contrastive"


ROWS = {
    r.id: r
    for r in [
        Row("mbv2", "MBv2", "contrastive", False, "cnn"),
        Row("cl", "+CL", "contrastive", False, "dual"),
        Row("mf", "+MF", "contrastive", True, "cnn"),
        Row("cl_mf", "+CL,MF", "contrastive", True, "dual"),
        Row("ae", "AE baseline", "ae"),
        Row("iforest", "IsolationForest", "iforest"),
        Row("iforest_mf", "IsolationForest +MF", "iforest", True),
        Row("pyod_emb", "PyOD EmbeddingOD.for_audio()", "pyod_emb"),
        Row("pyod_ae", "PyOD AudioAE", "pyod_ae"),
    ]
}

# Seed's published DCASE 2021 development-set ablation (official score, %),
# quoted from shared/DESIGN.md section 1 for the Markdown report.
SEED_DEV = {"MBv2": 56.01, "+CL": 56.18, "+MF": 57.75, "+CL,MF": 57.99}

# Detector settings of the real-data mode: the seed's architecture with the
# package defaults; pass --param to change them.
FULL = {
    "features": {"load__duration": 10.0},
    "contrastive": {},
    "ae": {},
}
# Tiny settings of --quick (1-s clips, 16 mel bands).
QUICK = {
    "features": {
        "load__duration": 1.0,
        "mel__n_mels": 16,
        "mel__n_fft": 256,
        "mel__hop_length": 128,
    },
    "contrastive": {
        "patch_frames": 32,
        "patch_hop": 16,
        "width": 0.25,
        "last_channel": 32,
        "embedding_dim": 8,
        "ae_hidden_dim": 32,
        "ae_bottleneck_dim": 8,
        "max_epochs": 4,
        "batch_size": 16,
    },
    "ae": {"hidden_dim": 32, "bottleneck_dim": 4, "max_epochs": 10, "batch_size": 128},
    # synthetic tree: machine type -> (machine_random_state)
    "machines": {"toy_a": 0, "toy_b": 1},
    "n_sections": 2,
    "n_train": 12,
    "n_test_normal": 12,
    "n_test_anomalous": 16,
    "severity": 0.8,
}

CELL_FIELDS = [
    "machine_type",
    "row",
    "label",
    "seed",
    "status",
    "official",
    "auc",
    "pauc",
    "n_train",
    "n_test_normal",
    "n_test_anomalous",
    "classes",
    "device",
    "seconds",
    "config",
    "note",
]
SCORE_FIELDS = [
    "machine_type",
    "row",
    "seed",
    "file",
    "section",
    "domain",
    "target",
    "kind",
    "score",
]
