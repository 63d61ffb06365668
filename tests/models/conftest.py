import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run the model tests on one torch thread.

    The tensors here are tiny, so a second thread gains nothing, and when
    another process holds one of the two cores, two torch threads spin on
    each other: the suite measured 56 s instead of 4 s.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
