# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Save and load fitted models with version information; atomic file writes.

A saved model is one joblib file holding a small *envelope* dict of plain Python
values: the format name and version, the versions of ``sklearn_asd``, Python and
the libraries the model depends on, the feature settings read from the
pipeline, the machine types and sections it was trained on, a creation
timestamp, and the fitted object itself, pickled with joblib into a ``bytes``
payload. Keeping the object as a separate payload lets :func:`load_model` check
the versions *before* it unpickles any estimator code, so a model saved by an
incompatible ``sklearn_asd`` gets a clear error instead of a traceback from deep
inside pickle.

Version policy: a model loads only in the ``sklearn_asd`` *major.minor* release
that saved it (``0.1.x`` models need ``0.1.y``); another major or minor version
raises a ``ValueError``. A different patch or pre-release version, or
different numpy / scikit-learn / torch / skorch / librosa versions, give one
``UserWarning`` listing the differences.

Files are written atomically: to a temporary file in the destination folder,
flushed to disk, then moved over the destination with :func:`os.replace`. A
failure at any point (including ``KeyboardInterrupt``) removes the temporary
file and leaves any previous file at the destination untouched.

Loading a model file unpickles it: only load files you trust.
"""

import contextlib
import datetime
import io
import os
import platform
import re
import secrets
import warnings
from importlib import metadata as importlib_metadata

from sklearn_asd._version import __version__

__all__ = ["atomic_open", "load_model", "save_model"]

#: Value of the envelope's ``"format"`` key.
_FORMAT = "sklearn-asd-model"
#: Version of the envelope layout (bumped when keys change meaning).
_FORMAT_VERSION = 1
#: Distributions whose versions are recorded (and compared when loading).
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "torch", "skorch", "librosa")
#: Step parameters recorded as "feature settings" when a step has them.
_FEATURE_PARAMS = (
    "sr",
    "duration",
    "mono",
    "n_fft",
    "hop_length",
    "win_length",
    "window",
    "center",
    "pad_mode",
    "power",
    "n_mels",
    "fmin",
    "fmax",
    "kernel_size",
    "mode",
    "statistics",
)


# --------------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_open(path, mode="w", *, encoding="utf-8", newline=""):
    r"""Open a temporary file that replaces ``path`` only when the block succeeds.

    The temporary file lies in the folder of ``path`` (so that
    :func:`os.replace` is an atomic rename), is created with the usual
    permissions (``0o666`` minus the umask) and is flushed and synced to disk
    before the rename. If the block raises anything, ``KeyboardInterrupt``
    included, the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        Destination file. Its folder must exist.
    mode : {"w", "wb"}, default="w"
        Text or binary writing.
    encoding : str, default="utf-8"
        Encoding in text mode.
    newline : str, default=""
        Newline translation in text mode (``""``: none, as :mod:`csv` wants).

    Yields
    ------
    file : file object
        The open temporary file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_asd.persistence import atomic_open
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_open(path) as f:
    ...     _ = f.write("done\n")
    >>> open(path).read()
    'done\n'
    >>> try:
    ...     with atomic_open(path) as f:
    ...         _ = f.write("partial")
    ...         raise RuntimeError("failure in the middle of writing")
    ... except RuntimeError:
    ...     pass
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('done\n', ['out.txt'])
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of {path!r} does not exist: {folder!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a folder, not a file")
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
    try:
        if mode == "wb":
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without directory fsync
        pass
    finally:
        os.close(fd)


# -------------------------------------------------------------------- metadata
def _library_versions():
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _plain(value):
    """Return ``value`` if it is made of plain Python values, else its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        return _plain(item())
    return repr(value)


def _feature_settings(obj):
    """Feature settings of a pipeline: audio/spectrogram parameters per step."""
    steps = getattr(obj, "steps", None)
    if not steps:
        steps = [(type(obj).__name__, obj)]
    settings = {}
    for name, step in steps:
        if step is None or step == "passthrough":
            continue
        get_params = getattr(step, "get_params", None)
        params = get_params(deep=False) if callable(get_params) else {}
        entry = {"class": type(step).__name__}
        entry.update({k: _plain(params[k]) for k in _FEATURE_PARAMS if k in params})
        for attr in ("n_samples_", "n_frames_"):
            if hasattr(step, attr):
                entry[attr] = _plain(getattr(step, attr))
        settings[name] = entry
    return settings


def _default_sections(obj):
    steps = getattr(obj, "steps", None)
    final = steps[-1][1] if steps else obj
    # the sections it can score: auxiliary classes train, they are never scored
    classes = getattr(final, "scored_classes_", getattr(final, "classes_", None))
    return None if classes is None else [_plain(c) for c in classes]


def _release(version):
    """``(major, minor)`` of a version string, or None if it has no such prefix."""
    match = re.match(r"(\d+)\.(\d+)", str(version))
    return None if match is None else (int(match[1]), int(match[2]))


def _check_fitted(obj):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(obj)
    except NotFittedError:
        raise ValueError(
            f"refusing to save an unfitted {type(obj).__name__}: fit it first (an "
            "interrupted fit leaves the detector unfitted, and it is never saved)"
        ) from None
    except TypeError as exc:  # not an estimator at all
        raise ValueError(f"save_model needs a fitted estimator: {exc}") from None


# ------------------------------------------------------------------ save / load
def save_model(obj, path, *, machine_types=None, sections=None, metadata=None):
    """Save a fitted estimator or pipeline to a versioned joblib file, atomically.

    Parameters
    ----------
    obj : estimator or Pipeline
        A fitted scikit-learn estimator or pipeline; an unfitted one raises a
        ``ValueError`` (so an interrupted fit is never saved as a model).
    path : str or path-like
        Destination file (``.joblib`` by convention). Written through a
        temporary file in the same folder and :func:`os.replace`.
    machine_types : list of str, default=None
        Machine types the model was trained on.
    sections : list, default=None
        Sections (classes) the model was trained on; ``None`` takes the final
        step's ``classes_`` when it has one.
    metadata : dict, default=None
        More plain-Python values to store (e.g. the command that trained it).

    Returns
    -------
    info : dict
        The stored envelope without the model payload.

    See Also
    --------
    load_model : Load it back, checking versions first.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn_asd.persistence import load_model, save_model
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> model = IsolationForest(random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> info = save_model(model, path, machine_types=["fan"], sections=["00"])
    >>> restored, info = load_model(path, return_info=True)
    >>> np.array_equal(restored.predict(X), model.predict(X))
    True
    >>> info["machine_types"], info["sections"]
    (['fan'], ['00'])
    """
    import joblib

    _check_fitted(obj)
    payload = io.BytesIO()
    joblib.dump(obj, payload)
    info = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "sklearn_asd_version": __version__,
        "versions": _library_versions(),
        "estimator_class": type(obj).__name__,
        "features": _feature_settings(obj),
        "machine_types": None if machine_types is None else list(machine_types),
        "sections": (
            _default_sections(obj)
            if sections is None
            else [_plain(s) for s in sections]
        ),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "metadata": dict(metadata or {}),
    }
    envelope = dict(info, model=payload.getvalue())
    with atomic_open(path, "wb") as f:
        joblib.dump(envelope, f)
    return info


def _read_envelope(path):
    import joblib

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file not found: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not a model file")
    try:
        envelope = joblib.load(path)
    except MemoryError:
        raise
    except Exception as exc:  # pickle and joblib raise many types on bad bytes
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        raise ValueError(
            f"{path!r} is not a sklearn-asd model file: joblib cannot read it "
            f"(not a joblib file, or corrupt or truncated: {reason})"
        ) from None
    if not isinstance(envelope, dict) or envelope.get("format") != _FORMAT:
        raise ValueError(
            f"{path!r} is a joblib file but not a sklearn-asd model file (it holds "
            f"a {type(envelope).__name__}, not the envelope that "
            "sklearn-asd train and save_model write)"
        )
    return envelope


def _check_versions(path, envelope):
    saved = envelope.get("sklearn_asd_version")
    fmt = envelope.get("format_version")
    if not isinstance(fmt, int) or fmt > _FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses model-file format {fmt!r} (sklearn_asd {saved}); this "
            f"sklearn_asd {__version__} reads format {_FORMAT_VERSION}: upgrade "
            "sklearn-asd to load it"
        )
    if _release(saved) != _release(__version__):
        raise ValueError(
            f"{path!r} was saved by sklearn_asd {saved}, this is sklearn_asd "
            f"{__version__}: models load only in the major.minor release that "
            f"saved them. Install sklearn-asd=={saved} to use it, or retrain it"
        )
    differences = []
    if saved != __version__:
        differences.append(f"sklearn_asd {saved} -> {__version__}")
    current = _library_versions()
    for name, version in (envelope.get("versions") or {}).items():
        if name in current and version is not None and current[name] != version:
            differences.append(f"{name} {version} -> {current[name]}")
    if differences:
        warnings.warn(
            f"{path!r} was saved with other library versions ("
            + ", ".join(differences)
            + "); its scores may differ slightly from those at training time",
            UserWarning,
            stacklevel=3,
        )


def load_model(path, *, return_info=False):
    """Load a model saved by :func:`save_model`, checking versions first.

    Parameters
    ----------
    path : str or path-like
        Model file.
    return_info : bool, default=False
        If True, also return the envelope's metadata (versions, feature
        settings, machine types, sections, creation time, extra metadata).

    Returns
    -------
    model : estimator or Pipeline
        The fitted object.
    info : dict
        Only with ``return_info=True``: the envelope without the payload.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a joblib file, not a sklearn-asd envelope, was saved by
        another major.minor version of sklearn_asd, or its model cannot be
        unpickled here.

    Warns
    -----
    UserWarning
        If the patch version of sklearn_asd or a library version differs.

    Notes
    -----
    A model fitted on a CUDA device loads on a CPU-only machine: the detector's
    skorch net maps its tensors to the CPU when CUDA is unavailable (skorch
    warns about it), and scoring then runs on the CPU.

    Loading unpickles the file: only load files you trust.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_asd.persistence import load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> _ = open(path, "w").write("not a model")
    >>> load_model(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: '...notes.txt' is not a sklearn-asd model file: joblib cannot ...
    """
    import joblib

    path = os.fspath(path)
    envelope = _read_envelope(path)
    _check_versions(path, envelope)
    payload = envelope.get("model")
    if not isinstance(payload, bytes):
        raise ValueError(f"{path!r} holds an envelope without a model payload")
    try:
        model = joblib.load(io.BytesIO(payload))
    except MemoryError:
        raise
    except Exception as exc:
        raise ValueError(
            f"cannot unpickle the model in {path!r} (saved with sklearn_asd "
            f"{envelope.get('sklearn_asd_version')}, versions "
            f"{envelope.get('versions')}): {type(exc).__name__}: {exc}"
        ) from None
    if not return_info:
        return model
    info = {k: v for k, v in envelope.items() if k != "model"}
    return model, info
