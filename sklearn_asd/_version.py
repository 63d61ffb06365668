# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Package version (static: clean clones have no git tags for setuptools_scm)."""

__version__ = "0.1.0.dev0"
