# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data: DCASE / MIMII folder trees and deterministic synthetic machine sounds."""

from sklearn_asd.datasets._dcase import load_dcase
from sklearn_asd.datasets._synthetic import make_machine_sounds

__all__ = ["load_dcase", "make_machine_sounds"]
