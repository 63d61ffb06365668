"""Fake DCASE (and MIMII) folder trees of synthetic clips, shared by the tests.

``write_clips`` is the one place that turns clips into DCASE file names and
folders; ``write_dcase_tree`` writes a whole development tree of 0.5-s
synthetic clips. Import them as ``from _trees import ...`` (``tests/`` is on
``sys.path``, see ``pyproject.toml``).
"""

from pathlib import Path

import soundfile as sf

from sklearn_asd.datasets import make_machine_sounds


def dcase_name(year, split, section, domain, label, i):
    """Basename of clip ``i`` of a group in ``year``'s development-set naming."""
    if year == 2020:
        return f"{label}_id_{section}_{i:08d}.wav"
    if year == 2021:
        return f"section_{section}_{domain}_{split}_{label}_{i:04d}.wav"
    return f"section_{section}_{domain}_{split}_{label}_{i:04d}_speed_{i % 3}.wav"


def dcase_folder(year, split, domain):
    """Folder of a clip under ``<machine>/``: DCASE 2021 splits test by domain."""
    return f"{domain}_test" if (year == 2021 and split == "test") else split


def write_clips(
    root, sounds, *, split, year=2021, machine="fan", sr=None, subtype="FLOAT"
):
    """Write ``sounds`` (a ``make_machine_sounds`` Bunch) as ``split`` clips.

    Clips are numbered per (section, domain, label) group in their order in
    ``sounds``. ``sounds`` needs ``data``, ``target``, ``sections`` and ``domains``;
    ``sr`` defaults to ``sounds.sr``. Returns the written paths.
    """
    sr = sounds.sr if sr is None else sr
    counter = {}
    paths = []
    for y, t, s, d in zip(sounds.data, sounds.target, sounds.sections, sounds.domains):
        label = "anomaly" if t else "normal"
        i = counter.get((s, d, label), 0)
        counter[s, d, label] = i + 1
        name = dcase_name(year, split, s, d, label, i)
        path = Path(root, machine, dcase_folder(year, split, d), name)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, sr, subtype=subtype)
        paths.append(path)
    return paths


def write_dcase_tree(
    root, year=2021, machine="fan", n_sections=2, seed=0, splits=("train", "test")
):
    """Write a DCASE dev tree of 0.5-s synthetic clips in ``year``'s naming.

    Per section: 8 normal training clips, 4 normal and 4 anomalous test clips,
    with a domain shift (source and target clips). Returns ``Path(root)``.
    """
    data = {
        "train": make_machine_sounds(
            n_normal=8 * n_sections,
            n_anomalous=0,
            n_sections=n_sections,
            duration=0.5,
            domain_shift=True,
            random_state=seed,
        ),
        "test": make_machine_sounds(
            n_normal=4 * n_sections,
            n_anomalous=4 * n_sections,
            n_sections=n_sections,
            duration=0.5,
            domain_shift=True,
            random_state=seed + 1,
        ),
    }
    for split in splits:
        write_clips(root, data[split], split=split, year=year, machine=machine)
    return Path(root)


def write_mimii(root, machine, n_normal, n_abnormal, seed=0, subtype="FLOAT"):
    """A MIMII-layout machine folder: <root>/<machine>/{normal,abnormal}/N.wav."""
    sounds = make_machine_sounds(
        n_normal=n_normal, n_anomalous=n_abnormal, duration=0.5, random_state=seed
    )
    counter = {}
    for clip, target in zip(sounds.data, sounds.target):
        folder = Path(root, machine, "abnormal" if target else "normal")
        folder.mkdir(parents=True, exist_ok=True)
        i = counter[folder] = counter.get(folder, -1) + 1
        sf.write(folder / f"{i:08d}.wav", clip, sounds.sr, subtype=subtype)
    return Path(root)
