# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Utilities shared by the sklearn_asd modules (private helpers live in ``_*``)."""

__all__ = []
