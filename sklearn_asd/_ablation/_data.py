# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ablation's data: the tree, the synthetic ``--quick`` tree, cached features."""

import time

import numpy as np

from sklearn_asd._ablation._config import QUICK, UsageError

__all__ = []


def _load_tree(root, machine_types):
    """Train (normal) and test clips per machine type; clear errors otherwise."""
    from sklearn_asd.datasets import load_dcase

    try:
        data = load_dcase(root, machine_type=machine_types)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    out = {}
    for machine in sorted(set(data.machine_types.tolist())):
        m = data.machine_types == machine
        splits = sorted(set(data.splits[m].tolist()))
        train = m & (data.splits == "train") & (data.target == 0)
        test = m & (data.splits == "test")
        if not train.any() or not test.any():
            raise UsageError(
                f"machine type {machine!r} has no "
                f"{'train' if not train.any() else 'test'} clips (splits found: "
                f"{splits}); the ablation trains on the "
                "normal clips of train/ and scores test/: select machine types "
                "with --machine-type"
            )
        if (data.target[test] < 0).any():
            raise UsageError(
                f"machine type {machine!r}: test clips without labels (an "
                "evaluation set?); the ablation needs labelled test clips"
            )
        kinds = np.array(
            [a.get("kind", "") for a in data.attributes[test]], dtype=object
        )
        out[machine] = {
            "train": data.filenames[train],
            "train_sections": data.sections[train],
            "test": data.filenames[test],
            "test_sections": data.sections[test],
            "test_domains": data.domains[test],
            "y": data.target[test].astype(int),
            "kinds": kinds,
        }
    return out


def _write_quick_tree(root):
    """Write the synthetic DCASE 2021 tree of --quick; return its machine types."""
    import soundfile as sf

    from sklearn_asd.datasets import make_machine_sounds

    common = {
        "n_sections": QUICK["n_sections"],
        "duration": QUICK["features"]["load__duration"],
        "severity": QUICK["severity"],
    }
    for machine, machine_seed in QUICK["machines"].items():
        train = make_machine_sounds(
            n_normal=QUICK["n_train"],
            n_anomalous=0,
            machine_random_state=machine_seed,
            random_state=100 + machine_seed,
            **common,
        )
        test = make_machine_sounds(
            n_normal=QUICK["n_test_normal"],
            n_anomalous=QUICK["n_test_anomalous"],
            machine_random_state=machine_seed,
            random_state=200 + machine_seed,
            **common,
        )
        for folder, sounds, split in (
            ("train", train, "train"),
            ("source_test", test, "test"),
        ):
            (root / machine / folder).mkdir(parents=True)
            for i, y in enumerate(sounds.data):
                label = "anomaly" if sounds.target[i] else "normal"
                suffix = f"_kind_{sounds.anomaly_kinds[i]}" if sounds.target[i] else ""
                name = (
                    f"section_{sounds.sections[i]}_source_{split}_{label}_{i:04d}"
                    f"{suffix}.wav"
                )
                sf.write(root / machine / folder / name, y, sounds.sr, subtype="FLOAT")
    return list(QUICK["machines"])


def _resolve_classes(mode, tree):
    """Return ("section" | "machine_section", reason)."""
    n_sections = {m: len(set(d["train_sections"].tolist())) for m, d in tree.items()}
    if mode != "auto":
        return mode, f"--classes {mode}"
    if all(n >= 2 for n in n_sections.values()):
        return "section", "every machine type has >= 2 training sections"
    if len(tree) >= 2:
        few = sorted(m for m, n in n_sections.items() if n < 2)
        return "machine_section", (
            f"machine type(s) {few} have one training section: one model over "
            "all machine types with <machine>/<section> classes"
        )
    return "section", "one machine type with one section: the MBv2/+CL rows are n/a"


class Features:
    """Log-mel features of each machine type, computed once per run (lazily)."""

    def __init__(self, features, tree, say, chunk_size=128):
        self.features = features
        self.tree = tree
        self.say = say
        self.chunk_size = chunk_size
        self.cache = {}
        self.fitted = None

    def _transform(self, paths):
        if self.fitted is None:
            from sklearn.base import clone

            self.fitted = clone(self.features).fit(list(paths[:1]))
        parts = [
            self.fitted.transform(list(paths[i : i + self.chunk_size]))
            for i in range(0, len(paths), self.chunk_size)
        ]
        return np.concatenate(parts)

    def get(self, machine):
        """``(train, test)`` features of ``machine``, computed on first use."""
        if machine not in self.cache:
            t0 = time.perf_counter()
            d = self.tree[machine]
            self.cache[machine] = (
                self._transform(d["train"]),
                self._transform(d["test"]),
            )
            self.say(
                f"  features of {machine}: {len(d['train'])} train + {len(d['test'])} "
                f"test clips in {time.perf_counter() - t0:.1f} s"
            )
        return self.cache[machine]

    def drop(self, machine):
        """Free the features of ``machine``."""
        self.cache.pop(machine, None)
