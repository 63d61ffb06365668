# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Deterministic synthetic machine sounds with labelled anomalies."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_machine_sounds"]

ANOMALY_KINDS = ("click", "harmonic", "modulation", "friction")


def _colored_noise(rng, n, sr, beta):
    """Gaussian noise with power spectrum ~ 1 / f**beta, unit RMS."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    f[0] = f[1]
    spec *= f ** (-beta / 2.0)
    y = np.fft.irfft(spec, n)
    return y / np.sqrt(np.mean(y**2))


def _band_noise(rng, n, sr, low, high):
    """Gaussian noise band-limited to [low, high] Hz, unit RMS."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(f < low) | (f > high)] = 0.0
    y = np.fft.irfft(spec, n)
    return y / np.sqrt(np.mean(y**2))


def _base_machine(rng):
    """Draw the machine type shared by all sections."""
    n_harm = int(rng.integers(10, 20))
    k = np.arange(1, n_harm + 1)
    return {
        "f0": rng.uniform(80.0, 200.0),
        "amps": k ** -rng.uniform(0.5, 1.2) * 10 ** (rng.uniform(-6, 6, n_harm) / 20),
        "noise_beta": rng.uniform(0.2, 1.5),  # white .. pink-to-brown noise
        "snr_db": rng.uniform(6.0, 12.0),  # harmonic-to-noise ratio
        "mod_rate": rng.uniform(0.3, 2.0),
    }


def _section_machine(base, rng, index):
    """Derive one section (unit / machine id) from the machine type.

    Sections are units of the same machine type, as in DCASE: pitch 5 % apart
    per section, harmonic levels differing by about 3 dB, slightly different
    noise colour and level. Telling them apart takes a close look, which is what
    makes section classification a useful proxy task.
    """
    return {
        "f0": base["f0"] * (1.0 + 0.05 * index) * rng.uniform(0.99, 1.01),
        "amps": base["amps"] * 10 ** (rng.normal(0.0, 3.0, base["amps"].size) / 20),
        "noise_beta": base["noise_beta"] + rng.uniform(-0.3, 0.3),
        "snr_db": base["snr_db"] + rng.uniform(-1.5, 1.5),
        "mod_rate": base["mod_rate"] * rng.uniform(0.8, 1.2),
    }


def _normal_clip(rng, machine, n, sr, target_domain):
    t = np.arange(n) / sr
    f0 = machine["f0"] * (1.0 + 0.01 * rng.standard_normal())
    snr_db = machine["snr_db"] + rng.uniform(-2.0, 2.0)
    amps = machine["amps"]
    if target_domain:  # another operating condition: noisier, duller harmonics
        snr_db -= 4.0
        amps = amps * np.arange(1, amps.size + 1) ** -0.3
    wander = 1.0 + 0.004 * np.sin(
        2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3)
    )
    phase = 2 * np.pi * np.cumsum(f0 * wander) / sr
    amps = amps * 10 ** (rng.normal(0.0, 1.5, amps.size) / 20)
    harm = np.zeros(n)
    for k, a in enumerate(amps, start=1):
        if k * f0 * 1.01 >= 0.45 * sr:
            break
        harm += a * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    harm /= np.sqrt(np.mean(harm**2))
    depth = rng.uniform(0.0, 0.08)
    am = 1.0 + depth * np.sin(2 * np.pi * machine["mod_rate"] * t + rng.uniform(0, 6.3))
    noise = _colored_noise(rng, n, sr, machine["noise_beta"])
    y = harm * am + 10 ** (-snr_db / 20) * noise
    return y, f0


def _add_anomaly(rng, y, kind, severity, f0, sr):
    n = y.size
    t = np.arange(n) / sr
    rms = np.sqrt(np.mean(y**2))
    if kind == "click":
        # short decaying broadband impacts (a loose part, a chipped tooth)
        n_clicks = int(rng.integers(4, 12))
        length = int(0.004 * sr)
        env = np.exp(-np.arange(length) / (0.0008 * sr))
        for start in rng.integers(0, n - length, n_clicks):
            burst = rng.standard_normal(length) * env
            y[start : start + length] += (1.0 + 5.0 * severity) * rms * burst
    elif kind == "harmonic":
        # an extra, inharmonic partial (bearing fault frequency, resonance)
        freq = f0 * (rng.integers(2, 8) + rng.uniform(0.3, 0.7))
        level_db = -16.0 + 14.0 * severity
        y += 10 ** (level_db / 20) * np.sqrt(2) * rms * np.sin(2 * np.pi * freq * t)
    elif kind == "modulation":
        # load fluctuation: amplitude modulation deeper than any normal clip
        depth = 0.06 + 0.16 * severity
        y *= 1.0 + depth * np.sin(2 * np.pi * rng.uniform(3.0, 12.0) * t)
    elif kind == "friction":
        # intermittent broadband rubbing noise in a high band
        low = rng.uniform(1500.0, 4500.0)
        noise = _band_noise(rng, n, sr, low, low + rng.uniform(800.0, 2500.0))
        gate = np.repeat(
            rng.random(int(np.ceil(n / (0.25 * sr)))) < 0.6, int(0.25 * sr)
        )
        level_db = -22.0 + 14.0 * severity
        y += 10 ** (level_db / 20) * rms * noise * gate[:n]
    return y


@validate_params(
    {
        "n_normal": [Interval(Integral, 0, None, closed="left")],
        "n_anomalous": [Interval(Integral, 0, None, closed="left")],
        "n_sections": [Interval(Integral, 1, 100, closed="both")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "sr": [Interval(Integral, 2000, None, closed="left")],
        "severity": [Interval(Real, 0, 1, closed="both")],
        "anomaly_kinds": [list, tuple, None],
        "domain_shift": ["boolean"],
        "shuffle": ["boolean"],
        "machine_random_state": ["random_state"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_machine_sounds(
    *,
    n_normal=60,
    n_anomalous=30,
    n_sections=3,
    duration=10.0,
    sr=16000,
    severity=0.5,
    anomaly_kinds=None,
    domain_shift=False,
    shuffle=True,
    machine_random_state=0,
    random_state=None,
):
    """Generate synthetic machine sounds, normal and anomalous.

    One machine type (a harmonic tone with fundamental in 80-200 Hz, a harmonic
    profile and a noise colour between white and brown, slow pitch wander and
    mild amplitude modulation) drawn from ``machine_random_state``; its sections
    are units of that type, with fundamentals 5 % apart, harmonic levels about
    3 dB apart and slightly different noise. Every clip varies in pitch
    (about 1 %), harmonic levels (1.5 dB), noise level and modulation, so
    normal clips are not identical. Anomalies are added to otherwise normal
    clips, one kind per clip, cycling through ``anomaly_kinds``:

    - ``"click"``: 4-12 short decaying broadband impacts;
    - ``"harmonic"``: an extra inharmonic partial;
    - ``"modulation"``: amplitude modulation at 3-12 Hz, deeper than normal;
    - ``"friction"``: intermittent band-limited noise between 1.5 and 7 kHz.

    ``severity`` scales all of them. At the default severity an
    :class:`~sklearn.ensemble.IsolationForest` on per-band log-mel mean and
    standard deviation reaches an AUC between 0.6 and 0.9 (tested): learnable,
    not trivial.

    Parameters
    ----------
    n_normal : int, default=60
        Total number of normal clips, spread evenly over the sections.
    n_anomalous : int, default=30
        Total number of anomalous clips, spread evenly over the sections.
    n_sections : int, default=3
        Number of sections (machines); labels ``"00"``, ``"01"``, ...
    duration : float, default=10.0
        Clip length in seconds.
    sr : int, default=16000
        Sample rate in Hz.
    severity : float, default=0.5
        Strength of the anomalies, from 0 (barely audible) to 1 (obvious).
    anomaly_kinds : list of str, default=None
        Kinds to generate among ``"click"``, ``"harmonic"``, ``"modulation"`` and
        ``"friction"``; ``None`` means all four.
    domain_shift : bool, default=False
        If True, every fourth clip of each section is recorded in a ``"target"``
        operating condition (8 % faster, 3 dB noisier); otherwise every clip is
        ``"source"``.
    shuffle : bool, default=True
        Shuffle the clips. Otherwise normal clips come first, section by section.
    machine_random_state : int, RandomState instance or None, default=0
        Seed of the simulated machine type and its sections. The fixed default
        means that every call simulates the same machines, so a training set and
        a test set generated by two calls (with different ``random_state``) are
        recordings of the same units, as in DCASE.
    random_state : int, RandomState instance or None, default=None
        Seed of the individual clips (their variations and anomalies): the same
        seeds give the same clips.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        - ``data``: ndarray of shape (n_clips, n_samples), float32 waveforms;
        - ``target``: ndarray of shape (n_clips,), 1 = anomalous, 0 = normal;
        - ``sections``: ndarray of str, section label of each clip;
        - ``domains``: ndarray of str, ``"source"`` or ``"target"``;
        - ``anomaly_kinds``: ndarray of str, the kind of anomaly or ``"normal"``;
        - ``sr``: int, the sample rate;
        - ``DESCR``: str, a description of the data set.

    See Also
    --------
    sklearn_asd.datasets.load_dcase : Real DCASE data.

    Examples
    --------
    >>> from sklearn_asd.datasets import make_machine_sounds
    >>> sounds = make_machine_sounds(n_normal=4, n_anomalous=2, n_sections=2,
    ...                              duration=1.0, random_state=0)
    >>> sounds.data.shape, sounds.data.dtype
    ((6, 16000), dtype('float32'))
    >>> sorted(set(sounds.sections.tolist())), int(sounds.target.sum())
    (['00', '01'], 2)
    """
    kinds = ANOMALY_KINDS if anomaly_kinds is None else tuple(anomaly_kinds)
    unknown = [k for k in kinds if k not in ANOMALY_KINDS]
    if not kinds or unknown:
        raise ValueError(
            f"anomaly_kinds must be a non-empty list of {list(ANOMALY_KINDS)}, got "
            f"{anomaly_kinds!r}"
        )
    n = round(duration * sr)
    if n < 2:
        raise ValueError(f"duration={duration} s at sr={sr} gives fewer than 2 samples")
    if n_normal + n_anomalous == 0:
        raise ValueError("n_normal + n_anomalous must be at least 1")
    int_max = np.iinfo(np.int32).max
    seed = check_random_state(random_state).randint(int_max)
    clip_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    machine_seed = check_random_state(machine_random_state).randint(int_max)
    type_seq, *unit_seqs = np.random.SeedSequence(machine_seed).spawn(n_sections + 1)
    base = _base_machine(np.random.default_rng(type_seq))
    machines = [
        _section_machine(base, np.random.default_rng(s), i)
        for i, s in enumerate(unit_seqs)
    ]

    # clip i: section i % n_sections; anomalies cycle through the kinds
    labels = np.r_[np.zeros(n_normal, dtype=int), np.ones(n_anomalous, dtype=int)]
    sections = np.r_[np.arange(n_normal), np.arange(n_anomalous)] % n_sections
    within = np.r_[np.arange(n_normal), np.arange(n_anomalous)] // n_sections
    kind_of = np.array(
        ["normal"] * n_normal + [kinds[i % len(kinds)] for i in range(n_anomalous)],
        dtype=str,
    )
    target_domain = domain_shift & (within % 4 == 3)

    data = np.empty((labels.size, n), dtype=np.float32)
    for i, clip_rng in enumerate(clip_seq.spawn(labels.size)):
        rng = np.random.default_rng(clip_rng)
        y, f0 = _normal_clip(rng, machines[sections[i]], n, sr, target_domain[i])
        if labels[i]:
            y = _add_anomaly(rng, y, kind_of[i], severity, f0, sr)
        gain = 0.05 * 10 ** (rng.normal(0.0, 1.0) / 20)
        data[i] = gain * y / np.sqrt(np.mean(y**2))

    order = np.arange(labels.size)
    if shuffle:
        order = np.random.default_rng(shuffle_seq).permutation(labels.size)
    section_names = np.array([f"{s:02d}" for s in sections], dtype=str)
    domains = np.where(target_domain, "target", "source")
    descr = (
        f"Synthetic machine sounds: {n_normal} normal and {n_anomalous} anomalous "
        f"clips of {duration:g} s at {sr} Hz, {n_sections} section(s), anomaly kinds "
        f"{list(kinds)}, severity {severity:g}, domain shift {domain_shift}."
    )
    return Bunch(
        data=data[order],
        target=labels[order],
        sections=section_names[order],
        domains=domains[order],
        anomaly_kinds=kind_of[order],
        sr=sr,
        DESCR=descr,
    )
