# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m sklearn_asd.cli``: the ``sklearn-asd`` command line."""

import sys

from sklearn_asd.cli import main

sys.exit(main())
