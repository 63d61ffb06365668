# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the benchmark scripts: machine info, process memory, output.

- :func:`machine_info`: CPU model, cores, library versions, torch threads and the
  GPU (if torch sees one), recorded in every results file (defined in
  ``sklearn_asd/utils/_machine.py``, which ``sklearn-asd ablation`` uses too);
- :func:`peak_rss_mb`, :func:`current_rss_mb`, :func:`reset_peak_rss`: the
  process's resident-memory high-water mark (``VmHWM`` of ``/proc/self/status``,
  else ``resource.getrusage``), its current resident memory, and a reset of the
  high-water mark where Linux allows it (``/proc/self/clear_refs``);
- :func:`write_json`: write a results file atomically (a crash never leaves a
  half-written file behind).
"""

import json
import os
import resource
import sys
from pathlib import Path

# one copy, in the package (sklearn-asd ablation records it too)
from sklearn_asd.utils._machine import machine_info

__all__ = [
    "current_rss_mb",
    "machine_info",
    "peak_rss_mb",
    "reset_peak_rss",
    "write_json",
]

_STATUS = "/proc/self/status"


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
