# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""What a results file records about the machine that computed it.

:func:`machine_info` is used by ``sklearn-asd ablation`` and by the benchmark
scripts (``benchmarks/_machine.py`` re-exports it).
"""

import datetime
import os
import platform
import sys

__all__ = []


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def machine_info():
    """Return the CPU model, cores, library versions, torch threads and GPU name.

    Imports torch, librosa and the other libraries it reports: call it when
    writing results, never at import time. ``gpu`` is None when torch sees no
    CUDA device.
    """
    import numpy as np
    import torch

    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_model(),
        "cores_available": cores,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "librosa": _version("librosa"),
        "scikit-learn": _version("sklearn"),
        "torch": torch.__version__,
        "skorch": _version("skorch"),
        "sklearn_asd": _version("sklearn_asd"),
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "gpu": gpu,
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
    }
