# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The cells and clip-scores CSV files of the ablation, updated atomically."""

import csv
import io
from pathlib import Path

import numpy as np

from sklearn_asd._ablation._config import CELL_FIELDS, SCORE_FIELDS, UsageError
from sklearn_asd.persistence import atomic_open

__all__ = []


def _write_atomic(path, text):
    """Replace ``path`` by ``text`` atomically (the package's ``atomic_open``)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def _fmt(value):
    if isinstance(value, float):
        return "" if np.isnan(value) else repr(value)
    return value


def _csv_text(fields, rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in fields})
    return buf.getvalue()


def _read_csv(path, fields):
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != fields:
            raise UsageError(
                f"{path} is not a results file of the ablation (columns "
                f"{reader.fieldnames}); use another --out or --name"
            )
        return list(reader)


def _key(cell):
    return (cell["machine_type"], cell["row"], str(cell["seed"]))


class Store:
    """The cells CSV and the clip-scores CSV, updated atomically cell by cell."""

    def __init__(self, out, name):
        self.cells_path = out / f"{name}.csv"
        self.scores_path = out / f"{name}_scores.csv"
        self.cells = {_key(c): c for c in _read_csv(self.cells_path, CELL_FIELDS)}
        self.scores = _read_csv(self.scores_path, SCORE_FIELDS)

    def finished(self, key, config):
        """Return True if ``key`` is finished with ``config``; raise on a clash."""
        cell = self.cells.get(key)
        if cell is None or cell["status"] == "skipped":
            return False  # skipped rows (missing optional package) are retried
        if cell["config"] != config:
            raise UsageError(
                f"{self.cells_path} holds cell {key} computed with another "
                f"configuration ({cell['config']}, now {config}): pass another "
                "--out or --name, or delete the file to start over"
            )
        return True

    def add(self, cells, scores):
        """Save ``cells`` (and their clip ``scores``): scores first, then cells."""
        # held in memory exactly as read back from the files: all strings
        cells = [{k: str(_fmt(v)) for k, v in c.items()} for c in cells]
        scores = [{k: str(_fmt(v)) for k, v in s.items()} for s in scores]
        keys = {_key(c) for c in cells}
        kept = [s for s in self.scores if _key(s) not in keys]
        new_scores = kept + scores
        _write_atomic(self.scores_path, _csv_text(SCORE_FIELDS, new_scores))
        self.scores = new_scores
        new_cells = dict(self.cells)
        for c in cells:
            new_cells[_key(c)] = c
        _write_atomic(self.cells_path, _csv_text(CELL_FIELDS, new_cells.values()))
        self.cells = new_cells
