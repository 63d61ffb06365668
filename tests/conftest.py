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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's torch work on one thread (2-core CI; results reproducible).

    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``. The
    whole session already runs on one thread (``_torch_on_one_thread``); this
    fixture says so where a module depends on it, and restores the count after
    the module when a test changed it.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def _torch_on_one_thread():
    """Run every test and doctest with torch on one thread.

    Torch's default of one thread per core makes a tiny fit 5-20x slower on a
    2-core machine that runs anything else (compare_detectors.py: 171 s on the
    default threads while other jobs ran, 7 s on one), and results then depend
    on the thread count only through the tests that set it themselves.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def shared_datasets():
    """Root of the read-only real DCASE/MIMII clips; skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(
            f"real clips not available at {SHARED_DATASETS} "
            "(set SKLEARN_ASD_SHARED_DATASETS to the shared datasets folder)"
        )
    return SHARED_DATASETS


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when torch sees no CUDA device."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason="needs a CUDA GPU (torch.cuda.is_available() is False)"
    )
    for item in gpu_items:
        item.add_marker(skip)
