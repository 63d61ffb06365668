# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Atomic CSV writing (the CLI's outputs, DCASE result files, benchmark tables)."""

import csv


def _write_csv(path, rows, header=None):
    """Write CSV ``rows`` to ``path`` atomically, lines ending in a newline.

    The file appears complete or not at all (a temporary file in the same
    folder, then :func:`os.replace`, as
    :func:`sklearn_asd.persistence.atomic_open` writes it); the line ends are
    those of the DCASE baselines' result files.
    """
    from sklearn_asd.persistence import atomic_open

    with atomic_open(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        for row in rows:
            writer.writerow(row)
