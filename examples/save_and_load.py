# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""
=============================
Save and load a fitted model
=============================

:func:`~sklearn_asd.persistence.save_model` writes a fitted pipeline to one
joblib file, atomically, together with the versions of ``sklearn_asd``, Python
and the libraries it depends on, its feature settings and its sections.
:func:`~sklearn_asd.persistence.load_model` checks those versions *before* it
unpickles the model:

- another ``sklearn_asd`` major.minor release (``0.2`` for a ``0.1`` model)
  raises a ``ValueError`` that says which version saved it;
- another patch or pre-release version of ``sklearn_asd``, or other numpy /
  scipy / scikit-learn / torch / skorch / librosa versions, give one
  ``UserWarning`` listing the differences.

This example fits a tiny pipeline, saves it, loads it back, checks that the
scores are identical, then shows both version checks on copies of the file that
pretend to come from other versions. Loading a model file unpickles it: only
load files you trust.
"""

# %%
# Fit a tiny pipeline
# -------------------
import os
import shutil
import tempfile
import warnings

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

import sklearn_asd
from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram, MedianFilter
from sklearn_asd.persistence import load_model, save_model

sounds = {"n_sections": 2, "duration": 1.0}
train = make_machine_sounds(n_normal=16, n_anomalous=0, random_state=0, **sounds)
test = make_machine_sounds(n_normal=8, n_anomalous=8, random_state=1, **sounds)
N_MELS = 16
pipe = Pipeline(
    [
        ("mel", LogMelSpectrogram(n_mels=N_MELS, n_fft=512, hop_length=256)),
        ("mf", MedianFilter(n_mels=N_MELS)),
        (
            "det",
            ContrastiveASDEstimator(
                n_mels=N_MELS,
                patch_frames=16,
                patch_hop=8,
                width=0.25,
                last_channel=32,
                embedding_dim=8,
                max_epochs=2,
                random_state=0,
            ),
        ),
    ]
)
# without metadata routing, fit parameters are addressed to a step by name
pipe.fit(train.data, det__sections=train.sections)
features = pipe[:-1].transform(test.data)
scores = pipe[-1].anomaly_score(features, sections=test.sections)

# %%
# Save, load, compare
# -------------------
# ``save_model`` refuses an unfitted model (an interrupted fit leaves the
# detector unfitted, so it is never saved as a finished model) and writes
# through a temporary file, so a failure never leaves a half-written model.
folder = tempfile.mkdtemp()
path = os.path.join(folder, "detector.joblib")
info = save_model(pipe, path, machine_types=["synthetic"], metadata={"epochs": 2})
print(f"saved {os.path.getsize(path) / 1e3:.0f} kB with sklearn_asd", end=" ")
print(info["sklearn_asd_version"], "| sections:", info["sections"])
print("feature settings of the mel step:", info["features"]["mel"])

restored, restored_info = load_model(path, return_info=True)
restored_scores = restored[-1].anomaly_score(
    restored[:-1].transform(test.data), sections=test.sections
)
print("identical scores after loading:", np.array_equal(restored_scores, scores))

# %%
# Version checks
# --------------
# The file holds a dict (the "envelope") of plain values next to the pickled
# model. Rewriting its version field imitates files saved by other releases.
envelope = joblib.load(path)
major, minor = (int(part) for part in sklearn_asd.__version__.split(".")[:2])


def copy_with_version(version):
    """Write a copy of the model file that claims another sklearn_asd version."""
    copy = os.path.join(folder, f"detector-{version}.joblib")
    joblib.dump(dict(envelope, sklearn_asd_version=version), copy)
    return copy


# another minor release: refused before anything is unpickled
other_release = copy_with_version(f"{major}.{minor + 1}.0")
try:
    load_model(other_release)
except ValueError as error:
    print("another major.minor release -> ValueError:", error)

# another patch release: loads, with one warning that lists the differences
other_patch = copy_with_version(f"{major}.{minor}.99")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = load_model(other_patch)
print("another patch release -> loads; warning:", caught[0].message)
same = model[-1].anomaly_score(features, sections=test.sections)
print("its scores are the same model's:", np.array_equal(same, scores))
shutil.rmtree(folder)
