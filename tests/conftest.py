import numba
import pytest
import torch

from harness.config import Protocol

numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
torch.set_num_threads(1)


@pytest.fixture
def short() -> Protocol:
    """The faithful protocol, cut to 2 epochs: enough to exercise every code path fast."""
    return Protocol(epochs=2)
