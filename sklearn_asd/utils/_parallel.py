# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Thread blocks for per-clip work (private)."""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = []


def _n_jobs_threads(n_jobs):
    """Return the number of worker threads joblib would use for ``n_jobs``."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(os.cpu_count() + 1 + n_jobs, 1)
    return n_jobs


def _run_in_blocks(fn, n_items, n_jobs):
    """Call ``fn(start, stop)`` on contiguous blocks of rows, one block per thread.

    One task per thread, on a plain thread pool: joblib's threading backend cost
    more than it saved on per-clip work of about a millisecond (measured: two
    joblib threads were slower than one).
    """
    n_threads = min(_n_jobs_threads(n_jobs), n_items)
    if n_threads <= 1:
        fn(0, n_items)
        return
    bounds = np.linspace(0, n_items, n_threads + 1).astype(int)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(fn, a, b) for a, b in itertools.pairwise(bounds)]
        for future in futures:
            future.result()  # re-raises the first worker error


# --------------------------------------------------------------------------- audio
