# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Input checks shared by the transformers and the detectors."""

import numpy as np

__all__ = []


def _check_finite_rows(X, what="X"):
    """Raise a ValueError naming the rows that hold NaN or infinity."""
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        shown = ", ".join(str(i) for i in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        raise ValueError(
            f"{what} contains NaN or infinity in row(s) {shown}{more}: waveforms and "
            "spectrograms must be finite (check the clips these rows came from)."
        )
