# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""
===============================================
Train on a DCASE folder, score its test split
===============================================

The workflow on real data: :func:`~sklearn_asd.datasets.load_dcase` lists the
files of a DCASE-layout tree with their labels, sections and domains (parsed from
the file names; the audio is not read); a pipeline that starts with
:class:`~sklearn_asd.features.AudioLoader` trains on the normal training clips
of each machine type; :func:`~sklearn_asd.scoring.score_files` scores the test
files in chunks (bounded memory); :func:`~sklearn_asd.metrics.section_report`
prints the AUC and pAUC per section and domain, and
:mod:`~sklearn_asd.submission` writes the DCASE result files in the tree's
naming.

Run it as ``python score_dcase_folder.py --data ROOT`` on a DCASE Task 2 tree
(``ROOT/<machine>/train/...``, ``ROOT/<machine>/{test,source_test,target_test}/
...``, any year's naming). Without ``--data`` it writes a small
synthetic tree in the DCASE 2021 layout to a temporary folder and uses that.

The features and the detector are tiny here (16 mel bands, 3 epochs) so that the
synthetic run takes seconds; for real data use the DCASE settings
(``LogMelSpectrogram()`` and ``ContrastiveASDEstimator()``, or
``sklearn-asd train``, which builds the same pipeline).
"""

# %%
import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from sklearn.pipeline import Pipeline

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import load_dcase, make_machine_sounds
from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter
from sklearn_asd.metrics import official_score, section_report
from sklearn_asd.scoring import score_files
from sklearn_asd.submission import (
    clip_name,
    detect_naming,
    official_score_year,
    result_files,
    write_result_file,
)

parser = argparse.ArgumentParser(
    description="Train on a DCASE folder, score its test split"
)
parser.add_argument("--data", metavar="ROOT", help="DCASE-layout dataset root")
parser.add_argument("--epochs", type=int, default=3, help="training epochs")
args = parser.parse_args()

# %%
# A synthetic DCASE 2021 tree (when no ``--data`` is given)
# ----------------------------------------------------------
# DCASE 2021 development sets put the training clips of a machine type in
# ``train/`` and the labelled test clips in ``source_test/`` and
# ``target_test/``, named
# ``section_XX_{source,target}_{train,test}_{normal,anomaly}_NNNN.wav``.
# ``make_machine_sounds(domain_shift=True)`` records every fourth clip of each
# section in a "target" operating condition.


def write_synthetic_tree(root, machine="synthetic"):
    """Write 16-bit wav files of synthetic sounds in the DCASE 2021 layout."""
    sounds = {"n_sections": 2, "duration": 1.0, "domain_shift": True}
    parts = {
        "train": make_machine_sounds(
            n_normal=32, n_anomalous=0, random_state=0, **sounds
        ),
        "test": make_machine_sounds(
            n_normal=16, n_anomalous=16, random_state=1, **sounds
        ),
    }
    for split, data in parts.items():
        counter = {}
        for wave, label, section, domain in zip(
            data.data, data.target, data.sections, data.domains
        ):
            status = "anomaly" if label == 1 else "normal"
            key = (section, domain, status)
            counter[key] = counter.get(key, -1) + 1
            folder = "train" if split == "train" else f"{domain}_test"
            name = f"section_{section}_{domain}_{split}_{status}_{counter[key]:04d}.wav"
            path = Path(root, machine, folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, wave, data.sr, subtype="PCM_16")


if args.data is None:
    root = tempfile.mkdtemp(prefix="dcase_synthetic_")
    write_synthetic_tree(root)
else:
    root = args.data
files = load_dcase(root)
print(files.DESCR)

# %%
# One model per machine type
# --------------------------
# The sections in the file names are the classes of the detector's section
# classifier. ``AudioLoader()`` pads or crops every clip to the length of the
# first training clip. Clips labelled anomalous, if a training split holds any,
# are left out of training by the detector itself (``y``: 0 normal, 1 anomalous).
N_MELS = 16


def tiny_pipeline(epochs):
    return Pipeline(
        [
            ("load", AudioLoader()),
            ("mel", LogMelSpectrogram(n_mels=N_MELS, n_fft=512, hop_length=256)),
            ("mf", MedianFilter(n_mels=N_MELS)),
            (
                "det",
                ContrastiveASDEstimator(
                    n_mels=N_MELS,
                    patch_frames=16,
                    patch_hop=4,
                    width=0.25,
                    last_channel=64,
                    embedding_dim=16,
                    max_epochs=epochs,
                    random_state=0,
                ),
            ),
        ]
    )


for machine in np.unique(files.machine_types):
    train = load_dcase(root, machine_type=machine, split="train")
    test = load_dcase(root, machine_type=machine, split="test")
    pipe = tiny_pipeline(args.epochs)
    # without metadata routing, fit parameters are addressed to a step by name
    pipe.fit(train.filenames, train.target, det__sections=train.sections)

    # Score the test split in chunks of files, report per section and domain.
    # ``score_files`` reads and scores ``chunk_size`` files at a time and
    # returns DCASE-sign scores (higher = more anomalous). Evaluation sets have
    # no labels in their names (``target == -1``): they are scored, not
    # evaluated.
    scores = score_files(pipe, test.filenames, sections=test.sections, chunk_size=16)
    # the submission files, named as the tree's year names them
    results = Path(tempfile.mkdtemp(prefix="dcase_results_"))
    for name, rows in result_files(test).items():
        names = [clip_name(test.filenames[i], test.naming[i]) for i in rows]
        write_result_file(results / name, names, scores[rows])
    print(f"wrote {sorted(p.name for p in results.iterdir())}")
    shutil.rmtree(results)
    labelled = test.target >= 0
    print(f"== {machine}: {len(train.filenames)} training clips, ", end="")
    print(f"{len(test.filenames)} test clips scored ({labelled.sum()} labelled)")
    if not labelled.any():
        continue
    y, s = test.target[labelled], scores[labelled]
    groups = {"sections": test.sections[labelled]}
    if set(test.domains[labelled]) <= {"source", "target"}:
        groups["domains"] = test.domains[labelled]
    # the official formula of the tree's naming: 2022+ trees use the 2022 one
    year = official_score_year(detect_naming(test.naming[labelled]))
    if "domains" not in groups:  # the 2022 formula needs source/target domains
        year = 2021
    try:
        print(section_report(y, s, **groups))
        score = official_score(y, s, year=year, **groups)
        print(f"DCASE {year} official score: {score:.3f}")
    except ValueError as error:  # e.g. a group without anomalous clips
        print(f"cannot evaluate {machine}: {error}")

if args.data is None:
    shutil.rmtree(root)  # the synthetic tree
