# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The runner of ``sklearn-asd ablation`` (private).

The seed system's ablation (MBv2, +CL, +MF, +CL,MF) beside the baselines, per
machine type of a DCASE-style tree, resumable cell by cell:

- ``_config``: the rows, the detector settings of the real-data and ``--quick``
  modes, the columns of the result files (light: imported by the CLI's parser);
- ``_store``: the cells and clip-scores CSV files, written atomically;
- ``_pipelines``: ``--param`` parsing, the row pipelines, configuration
  fingerprints, the optional PyOD peers;
- ``_data``: the tree, the synthetic tree of ``--quick``, cached features;
- ``_runner``: :func:`~sklearn_asd._ablation._runner.run_ablation`, fitting and
  scoring;
- ``_report``: the per-kind and overall values and the Markdown report.

Nothing here is imported by ``import sklearn_asd``; torch, PyOD and the
estimators are imported inside the functions that use them.
"""

__all__ = []
