# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the benchmark scripts: machine info, process memory, output.

- :func:`machine_info`: CPU model, cores, library versions, torch threads and the
  GPU (if torch sees one), recorded in every results file;
- :func:`peak_rss_mb`, :func:`current_rss_mb`, :func:`reset_peak_rss`: the
  process's resident-memory high-water mark (``VmHWM`` of ``/proc/self/status``,
  else ``resource.getrusage``), its current resident memory, and a reset of the
  high-water mark where Linux allows it (``/proc/self/clear_refs``);
- :func:`write_json`: write a results file atomically (a crash never leaves a
  half-written file behind).
"""

import datetime
import json
import os
import platform
import resource
import sys
from pathlib import Path

_STATUS = "/proc/self/status"


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
    """CPU model, cores, library versions, torch threads and GPU name (or None).

    Imports torch and librosa: call it from benchmark scripts, not from the
    package.
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


def _status_mb(key):
    """A ``kB`` field of /proc/self/status in MiB, or None off Linux."""
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb():
    """Resident-memory high-water mark of this process, in MiB."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def current_rss_mb():
    """Current resident memory of this process in MiB (None where unknown)."""
    return _status_mb("VmRSS")


def reset_peak_rss():
    """Reset the high-water mark to the current RSS; False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = _status_mb("VmHWM"), _status_mb("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 1.0


def write_json(path, data):
    """Write ``data`` as indented JSON to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
