# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data: DCASE / MIMII folder trees, their fetchers, synthetic machine sounds."""

from sklearn_asd.datasets._dcase import load_dcase
from sklearn_asd.datasets._fetch import fetch_dcase, get_data_home
from sklearn_asd.datasets._synthetic import make_machine_sounds

__all__ = ["fetch_dcase", "get_data_home", "load_dcase", "make_machine_sounds"]
