import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATASETS = Path(
    os.environ.get(
        "SKLEARN_ASD_SHARED_DATASETS",
        Path(__file__).resolve().parents[1].parent / "shared" / "datasets",
    )
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def shared_datasets():
    """Root of the read-only real DCASE/MIMII clips; skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(
            f"real clips not available at {SHARED_DATASETS} "
            "(set SKLEARN_ASD_SHARED_DATASETS to the shared datasets folder)"
        )
    return SHARED_DATASETS
