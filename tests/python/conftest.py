"""Shared fixtures of parmap's pytest suite (run after `pip install .`)."""
import numpy as np
import pytest

import parmap

DTYPES = [np.float32, np.float64, np.int32, np.int64]


@pytest.fixture(params=DTYPES, ids=lambda t: np.dtype(t).name)
def dtype(request):
    return request.param


no_gpu = pytest.mark.skipif(parmap.gpu_available(), reason="needs a machine without a usable GPU")
