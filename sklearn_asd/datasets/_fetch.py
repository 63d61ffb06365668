# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Download the DCASE Task 2 datasets from Zenodo (only when asked to).

Nothing here runs on import or implicitly: :func:`fetch_dcase` downloads only
when called, from the official Zenodo records (or ``base_url``, a mirror or a
local server speaking Zenodo's records API).

Reliability rules, each tested against a server on 127.0.0.1:

- downloads go to ``<set>/.downloads/<archive>.part`` and resume with an HTTP
  ``Range`` request (a server that ignores it restarts the file); a finished
  file is checked against the size and MD5 of the record listing, and a
  mismatch deletes it with a message;
- archives are tested (CRC of every member) and extracted into a hidden
  temporary folder of the set, then renamed into place one ``<machine>/<folder>``
  at a time, so :func:`~sklearn_asd.datasets.load_dcase` never sees a
  half-extracted folder (it ignores hidden folders); a marker records each
  finished archive;
- one process fetches a set at a time (an ``flock`` on a lock file, released
  by the kernel when its process ends; a held one is a ``BlockingIOError``);
- a full disk, a 404, a server that closes the connection and a corrupted zip
  each end in an ``OSError``/``ValueError`` that says what happened and what
  to do, with no partial folder left where ``load_dcase`` reads.
"""

import contextlib
import csv
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from numbers import Integral, Real
from pathlib import Path

from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from sklearn_asd.datasets._dcase import _GROUND_TRUTH_NAME, load_dcase

__all__ = ["fetch_dcase", "get_data_home"]

#: Default server of the records API.
_ZENODO = "https://zenodo.org"
#: Hidden folders and files of a fetched set (``load_dcase`` skips them).
_DOWNLOADS = ".downloads"
_DONE = ".fetched"
_LOCK = ".fetch.lock"
#: Marker name of a fetch of every machine type (no machine type is named so).
_ALL = "all-machine-types"
_CHUNK = 1 << 20

# Archive names, in the orders the records have used (first match wins, so the
# longer "dev_data_" comes before "dev_").
_DEV = (r"dev_data_(?P<machine>\w+?)\.zip", r"dev_(?P<machine>\w+?)\.zip")
_TRAIN = (
    r"eval_data_train_(?P<machine>\w+?)\.zip",
    r"eval_data_(?P<machine>\w+?)_train(?:_r\d+)?\.zip",
)
_TEST = (
    r"eval_data_test_(?P<machine>\w+?)\.zip",
    r"eval_data_(?P<machine>\w+?)_test\.zip",
)

#: (year, subset) -> (Zenodo record id, archive name patterns). The ids are the
#: ones of the official baselines' download scripts (nttcslab
#: dcase2023_task2_baseline_ae tools/data_download_20XX.sh and its yaml files,
#: which cover 2020-2025) and evaluator READMEs; docs/guide/reproduce.rst
#: lists them.
_RECORDS = {
    (2020, "dev"): (3678171, _DEV),
    (2020, "additional"): (3727685, _TRAIN),
    (2020, "eval"): (3841772, _TEST),
    (2021, "dev"): (4562016, _DEV),
    (2021, "additional"): (4660992, _TRAIN),
    (2021, "eval"): (4884786, _TEST),
    (2022, "dev"): (6355122, _DEV),
    (2022, "additional"): (6462969, _TRAIN),
    (2022, "eval"): (6586456, _TEST),
    (2023, "dev"): (7882613, _DEV),
    (2023, "additional"): (7830345, _TRAIN),
    (2023, "eval"): (7860847, _TEST),
    (2024, "dev"): (10902294, _DEV),
    (2024, "additional"): (11259435, _TRAIN),
    (2024, "eval"): (11363076, _TEST),
    (2025, "dev"): (15097779, _DEV),
    (2025, "additional"): (15392814, _TRAIN),
    (2025, "eval"): (15519362, _TEST),
}

#: Ground truth of the evaluation sets that is published on Zenodo:
#: year -> (record id, file name pattern). 2020: one ``eval_data_list.csv``
#: (a machine-type line, then ``file,renamed file,label`` rows, as the 2020
#: evaluator reads it); 2021: the ``ground_truth_<machine>_section_XX_<domain>_
#: test.csv`` files of the evaluator (headerless ``file,label`` rows). The
#: 2022-2025 ground truth lives only in the evaluator repositories on GitHub:
#: pass their ``ground_truth_data`` folder to ``load_dcase(ground_truth=...)``.
_GROUND_TRUTH = {
    2020: (3951620, r"eval_data_list\.csv"),
    2021: (5257674, r".*\.(zip|csv)"),
}

#: What a damaged archive raises while it is read (a deflate stream: zlib.error;
#: an unsupported method such as Deflate64: NotImplementedError).
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)

_SUBSET_FOLDER = {"dev": "dev_data", "eval": "eval_data", "additional": "eval_data"}


def get_data_home(data_home=None):
    """Return the folder that holds fetched datasets, creating it if needed.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. ``None``: the ``SKLEARN_ASD_DATA`` environment variable if
        it is set, else ``~/sklearn_asd_data``.

    Returns
    -------
    data_home : str
        Absolute path of the folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_asd.datasets import get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "asd"))
    >>> os.path.isdir(home)
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKLEARN_ASD_DATA") or os.path.join(
            "~", "sklearn_asd_data"
        )
    data_home = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(data_home, exist_ok=True)
    return data_home


# ---------------------------------------------------------------- the listing


def _http_get(url, *, timeout, headers=None):
    """Open ``url``; HTTP errors become messages that name the URL."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    request.add_header("User-Agent", "sklearn-asd (fetch_dcase)")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise FileNotFoundError(f"{url} answered 404 (not found)") from None
        raise OSError(f"{url} answered HTTP {exc.code} ({exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"cannot reach {url}: {reason}") from None


def _parse_file_entry(entry, record, base_url):
    """One ``files`` entry of a record, in either shape Zenodo has served.

    Current: ``key``, ``size``, ``checksum`` = ``"md5:<hex>"``, ``links``
    (``content``/``self``); legacy: ``filename``, ``filesize``, bare-hex
    ``checksum``, ``links.download``/``links.self``.
    """
    key = entry.get("key", entry.get("filename"))
    size = entry.get("size", entry.get("filesize"))
    checksum = entry.get("checksum")
    links = entry.get("links") or {}
    url = links.get("download") or links.get("content") or links.get("self")
    if url is None and isinstance(key, str):
        url = f"{base_url.rstrip('/')}/records/{record}/files/{key}?download=1"
    if not isinstance(key, str) or not key:
        raise ValueError(
            f"record {record}: a files entry has no file name or link: {entry!r}"
        )
    if Path(key).name != key or "\\" in key or key in (".", ".."):
        raise ValueError(f"record {record}: refusing the file name {key!r} (a path)")
    md5 = None
    if isinstance(checksum, str):
        algo, _, value = checksum.rpartition(":")
        if algo in ("", "md5") and re.fullmatch(r"[0-9a-fA-F]{32}", value):
            md5 = value.lower()
    if md5 is None:
        raise ValueError(
            f"record {record}: file {key!r} has no MD5 checksum in the listing "
            f"(got {checksum!r}); refusing to download an unverifiable file"
        )
    if not isinstance(size, Integral) or isinstance(size, bool) or size < 0:
        raise ValueError(f"record {record}: file {key!r} has no valid size ({size!r})")
    return {"key": key, "size": int(size), "md5": md5, "url": url, "record": record}


def _record_files(base_url, record, *, timeout):
    """Return the file entries of a record (``GET {base_url}/api/records/{id}``)."""
    url = f"{base_url.rstrip('/')}/api/records/{record}"
    try:
        with _http_get(url, timeout=timeout) as response:
            body = response.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Zenodo record {record} was not found at {url} (404): check base_url "
            "or the record id"
        ) from None
    except http.client.HTTPException as exc:
        raise ConnectionError(
            f"the connection broke while reading {url}: {type(exc).__name__}"
        ) from None
    try:
        listing = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{url} did not return a JSON record listing: {exc}") from None
    files = listing.get("files") if isinstance(listing, dict) else None
    if isinstance(files, dict):  # some API versions nest them: {"entries": [...]}
        files = files.get("entries")
    if not isinstance(files, list):
        raise ValueError(f"{url}: the record listing has no 'files' list")
    return [_parse_file_entry(entry, record, base_url) for entry in files]


def _select(files, patterns, machine_types, what):
    """``[(machine, entry), ...]`` of the archives of ``files`` to fetch."""
    found = {}
    for entry in files:
        for pattern in patterns:
            if m := re.fullmatch(pattern, entry["key"]):
                found.setdefault(m["machine"], []).append(entry)
                break
    if not found:
        raise ValueError(
            f"{what}: no archive in the record listing matches "
            f"{list(patterns)}; files: {sorted(e['key'] for e in files)}"
        )
    if machine_types is None:
        machine_types = sorted(found)
    missing = [m for m in machine_types if m not in found]
    if missing:
        raise ValueError(
            f"{what}: no archive for machine type(s) {missing}; available: "
            f"{sorted(found)}"
        )
    return [(m, e) for m in machine_types for e in found[m]]


# ------------------------------------------------------------------ download


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(name, done, total, *, final=False):
    """Draw a one-line progress bar on a terminal (stderr); silent otherwise."""
    stream = sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return
    width = 30
    filled = int(width * done / total) if total else width
    stream.write(
        f"\r{name}: [{'#' * filled}{'.' * (width - filled)}] "
        f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
    )
    if final:
        stream.write("\n")
    stream.flush()


def _archive_marker(entry):
    """Name of the marker of one extracted archive (in ``<set>/.fetched``)."""
    return f"archive-{entry['key']}-{entry['md5']}"


def _announce(entries, tree, what):
    """Say on a terminal what is about to be downloaded, and how much."""
    if not getattr(sys.stderr, "isatty", lambda: False)():
        return
    todo = [e for _, e in entries if not (tree / _DONE / _archive_marker(e)).exists()]
    if todo:
        size = sum(e["size"] for e in todo)
        print(
            f"{what}: {len(todo)} archive(s), {size / 1e9:.2f} GB, into "
            f"{os.fspath(tree)}",
            file=sys.stderr,
        )


def _no_space(path, exc):
    return OSError(
        errno.ENOSPC,
        f"no space left on the device while writing {os.fspath(path)!r}: free "
        "space (or choose another data_home / SKLEARN_ASD_DATA) and fetch again; "
        f"({exc.strerror})",
    )


def _download_once(entry, part, *, timeout):
    """Append to ``part`` from where it stops; True when it holds every byte."""
    have = part.stat().st_size if part.exists() else 0
    if have > entry["size"]:
        part.unlink()
        have = 0
    if have == entry["size"]:
        return True
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _http_get(entry["url"], timeout=timeout, headers=headers)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"file {entry['key']} of Zenodo record {entry['record']} is listed but "
            f"cannot be downloaded: {exc}"
        ) from None
    with response:
        status = getattr(response, "status", 200)
        mode = "ab"
        if have and status != 206:  # the server ignored the range: restart
            have, mode = 0, "wb"
        try:
            with open(part, mode) as f:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    have += len(block)
                    _progress(entry["key"], have, entry["size"])
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _no_space(part, exc) from None
            raise ConnectionError(
                f"the connection broke while downloading {entry['key']} "
                f"({have} of {entry['size']} bytes): {exc}"
            ) from None
        except Exception as exc:  # http.client.IncompleteRead and friends
            raise ConnectionError(
                f"the server closed the connection while sending {entry['key']} "
                f"({have} of {entry['size']} bytes): {type(exc).__name__}"
            ) from None
    return have >= entry["size"]


def _download(entry, folder, *, timeout, n_retries, delay):
    """Download one archive into ``folder`` (resuming), verified; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / entry["key"]
    part = folder / (entry["key"] + ".part")
    if path.exists():
        if path.stat().st_size == entry["size"] and _md5(path) == entry["md5"]:
            return path
        path.unlink()  # another version of the file, or damaged: fetch anew
    free = shutil.disk_usage(folder).free
    needed = entry["size"] - (part.stat().st_size if part.exists() else 0)
    if needed > free:
        raise OSError(
            errno.ENOSPC,
            f"{entry['key']} needs {needed / 1e9:.2f} GB more but only "
            f"{free / 1e9:.2f} GB are free under {os.fspath(folder)!r}: free space "
            "or choose another data_home (SKLEARN_ASD_DATA)",
        )
    for attempt in range(n_retries + 1):
        try:
            complete = _download_once(entry, part, timeout=timeout)
        except ConnectionError as exc:
            if attempt == n_retries:
                raise ConnectionError(
                    f"{exc}; tried {n_retries + 1} times. The partial file "
                    f"{os.fspath(part)!r} is kept: fetching again resumes it."
                ) from None
            time.sleep(delay)
            continue
        if complete:
            break
        if attempt == n_retries:
            raise ConnectionError(
                f"the server sent only part of {entry['key']} "
                f"({part.stat().st_size} of {entry['size']} bytes) {n_retries + 1} "
                f"times; the partial file {os.fspath(part)!r} is kept: fetching "
                "again resumes it."
            )
        time.sleep(delay)
    _progress(entry["key"], entry["size"], entry["size"], final=True)
    size, md5 = part.stat().st_size, _md5(part)
    if size != entry["size"] or md5 != entry["md5"]:
        part.unlink()
        raise OSError(
            f"checksum mismatch for {entry['key']}: expected {entry['size']} bytes "
            f"with MD5 {entry['md5']}, got {size} bytes with MD5 {md5}. The bad "
            "file was deleted; fetch again to download it anew."
        )
    os.replace(part, path)
    return path


# ------------------------------------------------------------------- extract


def _members(archive, path):
    """Names of ``archive`` after a CRC test; refuse names that leave the tree."""
    try:
        bad = archive.testzip()
    except (*_ZIP_ERRORS, OSError) as exc:
        bad = f"({exc})"
    if bad is not None:
        raise zipfile.BadZipFile(f"member {bad} is corrupted")
    names = archive.namelist()
    for name in names:
        parts = Path(name).parts
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name:
            raise zipfile.BadZipFile(f"member {name!r} would be written outside it")
    return names


def _bad_zip(path, exc):
    """Delete a corrupted archive; return the error that says so."""
    path.unlink(missing_ok=True)
    return ValueError(
        f"{path.name} is not a valid zip archive ({exc}): it was deleted; fetch "
        "again to download it anew"
    )


def _extract(path, tree, *, strip=()):
    """Extract ``path`` into ``tree``, one ``<machine>/<folder>`` rename at a time.

    ``strip``: leading folder names to drop (an archive holding
    ``dev_data/<machine>/...`` instead of ``<machine>/...``).
    """
    # one extractor per set (the lock): leftovers are of killed processes
    for old in tree.glob(f".extract-{path.name}-*"):
        shutil.rmtree(old, ignore_errors=True)
    tmp = tree / f".extract-{path.name}-{os.getpid()}"
    try:
        try:
            with zipfile.ZipFile(path) as archive:
                _members(archive, path)
                archive.extractall(tmp)
        except _ZIP_ERRORS as exc:
            raise _bad_zip(path, exc) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _no_space(tmp, exc) from None
            raise
        root = tmp
        while True:  # drop wrapper folders such as dev_data/
            children = [p for p in root.iterdir() if not p.name.startswith(".")]
            if (
                len(children) == 1
                and children[0].is_dir()
                and (children[0].name in strip)
            ):
                root = children[0]
                continue
            break
        for machine in sorted(p for p in root.iterdir() if p.is_dir()):
            for folder in sorted(machine.iterdir()):
                target = tree / machine.name / folder.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    os.replace(folder, target)  # atomic: all or nothing
                    continue
                # another archive already made this folder: add the files
                for item in sorted(folder.rglob("*")):
                    if item.is_file():
                        dest = target / item.relative_to(folder)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(item, dest)
            for item in machine.iterdir():
                if item.is_file():
                    os.replace(item, tree / machine.name / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------- lock


@contextlib.contextmanager
def _lock(folder, what):
    """One fetching process per set: an exclusive lock on ``<set>/.fetch.lock``.

    POSIX ``flock``: the kernel releases it when its process ends, however it
    ends, so there are no stale locks. The file holds the holder's pid, for the
    message. Where ``fcntl`` is missing (Windows), the file's existence is the
    lock (delete it by hand after a crash; the message says so).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _LOCK

    def busy(pid_text):
        holder = f" (pid {pid_text})" if pid_text else ""
        return BlockingIOError(
            f"another process{holder} is fetching {what} into "
            f"{os.fspath(folder)!r}; wait for it to finish"
        )

    try:
        import fcntl
    except ImportError:  # no flock: exclusive creation
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise BlockingIOError(
                f"{busy('')}; if no other fetch runs, delete {os.fspath(path)!r}"
            ) from None
        os.close(fd)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
        return
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            raise busy(f.read().strip()) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


# --------------------------------------------------------------------- fetch


def _machines_done(tree, subset):
    """Machine types whose ``subset`` fetch finished (``_ALL``: all of them)."""
    folder = tree / _DONE
    if not folder.is_dir():
        return set()
    prefix = f"{subset}-"
    return {
        p.name[len(prefix) :] for p in folder.iterdir() if p.name.startswith(prefix)
    }


def _mark_done(tree, name):
    (tree / _DONE).mkdir(parents=True, exist_ok=True)
    (tree / _DONE / name).touch()


def _fetch_archive(entry, tree, *, keep, **options):
    """Download, verify and extract one archive unless its marker exists."""
    marker = _archive_marker(entry)
    if (tree / _DONE / marker).exists():
        return
    path = _download(entry, tree / _DOWNLOADS, **options)
    _extract(path, tree, strip=("dev_data", "eval_data"))
    _mark_done(tree, marker)
    if not keep:
        path.unlink(missing_ok=True)


def _fetch_ground_truth(year, tree, machine_types, base_url, options):
    """Store the official ground-truth CSVs of ``machine_types`` in the tree."""
    record, pattern = _GROUND_TRUTH[year]
    files = _record_files(base_url, record, timeout=options["timeout"])
    entries = [e for e in files if re.fullmatch(pattern, e["key"])]
    if not entries:
        raise ValueError(
            f"the ground-truth record {record} of DCASE {year} has no file matching "
            f"{pattern!r}; files: {sorted(e['key'] for e in files)}"
        )
    for entry in entries:
        path = _download(entry, tree / _DOWNLOADS, **options)
        if path.name == "eval_data_list.csv":
            _split_eval_data_list(path, tree, machine_types)
        elif path.suffix == ".csv":
            m = _GROUND_TRUTH_NAME.fullmatch(path.name)
            if m is not None and m["machine"] in machine_types:
                _write_atomic(tree / m["machine"] / path.name, path.read_bytes())
        else:
            _store_ground_truth(path, tree, machine_types)
        path.unlink(missing_ok=True)


def _write_atomic(dest, data):
    from sklearn_asd.persistence import atomic_open

    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(dest, "wb") as f:
        f.write(data)


def _split_eval_data_list(path, tree, machine_types):
    """DCASE 2020's one ground-truth list as ``ground_truth_<m>_id_test.csv`` files.

    The list holds a machine-type line, then ``file,renamed file,label`` rows
    (the 2020 evaluator reads the file name from column 0, the label from
    column 2), for each machine type in turn.
    """
    rows, machine = {}, None
    with open(path, newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            row = [c.strip() for c in row if c.strip()]
            if len(row) == 1:
                machine = row[0]
            elif len(row) >= 3 and machine is not None and row[2] in ("0", "1"):
                rows.setdefault(machine, []).append(f"{row[0]},{row[2]}\n")
            elif row:
                raise ValueError(
                    f"{path.name} line {lineno}: expected a machine type or a "
                    f"'file,renamed file,label' row, got {','.join(row)!r}"
                )
    for machine in machine_types:
        if machine in rows:
            dest = tree / machine / f"ground_truth_{machine}_id_test.csv"
            _write_atomic(dest, "".join(rows[machine]).encode())


def _store_ground_truth(path, tree, machine_types):
    """Write the ground-truth CSVs of an archive into each machine folder."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in _members(archive, path):
                m = _GROUND_TRUTH_NAME.fullmatch(Path(name).name)
                if m is not None and m["machine"] in machine_types:
                    dest = tree / m["machine"] / Path(name).name
                    _write_atomic(dest, archive.read(name))
    except _ZIP_ERRORS as exc:
        raise _bad_zip(path, exc) from None


@validate_params(
    {
        "year": [Interval(Integral, 2020, 2025, closed="both")],
        "machine_types": [str, list, tuple, None],
        "subset": [StrOptions({"dev", "eval", "additional"})],
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "base_url": [str, None],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "n_retries": [Interval(Integral, 0, None, closed="left")],
        "delay": [Interval(Real, 0, None, closed="left")],
        "keep_archives": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_dcase(
    year,
    *,
    machine_types=None,
    subset="dev",
    data_home=None,
    download_if_missing=True,
    base_url=None,
    timeout=60.0,
    n_retries=3,
    delay=1.0,
    keep_archives=False,
):
    """Fetch a DCASE Task 2 dataset from Zenodo and load it with ``load_dcase``.

    Downloads happen only when this function is called and something is
    missing; a set fetched before is loaded from ``data_home`` without network
    access.

    Parameters
    ----------
    year : int
        2020 to 2025: the DCASE Task 2 challenge of that year.
    machine_types : str or list of str, default=None
        Machine types to fetch (archive names, e.g. ``"fan"``, ``"ToyCar"``).
        ``None``: every machine type of the record.
    subset : {"dev", "eval", "additional"}, default="dev"
        Which release: ``"dev"`` the development dataset, ``"additional"`` the
        additional training data of the evaluation machines, ``"eval"`` the
        evaluation test data with its official ground truth (when published)
        stored as ``<machine>/ground_truth_*.csv``, which ``load_dcase`` reads.
        ``"eval"`` and ``"additional"`` share one tree (``eval_data``).
        Named ``subset`` because ``split`` means train/test in ``load_dcase``.
    data_home : str or path-like, default=None
        Where fetched sets are kept; see :func:`get_data_home`. A set lives in
        ``<data_home>/dcase<year>/{dev_data,eval_data}/<machine>/...``.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` instead of downloading.
    base_url : str, default=None
        Server of the records API (``GET {base_url}/api/records/{id}``);
        ``None``: ``https://zenodo.org``. A mirror or a local server works.
    timeout : float, default=60.0
        Seconds to wait for the server on each request.
    n_retries : int, default=3
        Extra attempts after a broken connection (each resumes the download).
    delay : float, default=1.0
        Seconds between attempts.
    keep_archives : bool, default=False
        Keep the downloaded zip files (in ``<set>/.downloads``) after
        extraction.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        :func:`~sklearn_asd.datasets.load_dcase` of the fetched tree, every
        split included, restricted to ``machine_types``, plus ``root`` (the
        tree's folder).

    Raises
    ------
    FileNotFoundError
        If the set is missing and ``download_if_missing=False``, or the server
        answers 404 for the record or a file.
    ConnectionError
        If the server cannot be reached or keeps closing the connection
        (partial downloads are kept and resumed by the next call).
    OSError
        If a download does not match its checksum (the file is deleted) or the
        disk is full.
    ValueError
        If an archive is corrupted (it is deleted), a machine type is not in
        the record, or the listing is malformed.
    BlockingIOError
        If another process is fetching the same set (an ``OSError``).

    Examples
    --------
    A local server speaking Zenodo's records API stands in for zenodo.org:

    >>> import hashlib, http.server, io, json, tempfile, threading, zipfile
    >>> from sklearn_asd.datasets import fetch_dcase
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as z:
    ...     for name in ["fan/train/section_00_source_train_normal_0000_a.wav",
    ...                  "fan/test/section_00_source_test_anomaly_0000_a.wav"]:
    ...         z.writestr(name, b"")
    >>> archive = buffer.getvalue()
    >>> class Zenodo(http.server.BaseHTTPRequestHandler):
    ...     def do_GET(self):
    ...         host = f"http://127.0.0.1:{self.server.server_port}"
    ...         body = archive if self.path.endswith(".zip") else json.dumps(
    ...             {"files": [{"key": "dev_data_fan.zip", "size": len(archive),
    ...              "checksum": "md5:" + hashlib.md5(archive).hexdigest(),
    ...              "links": {"self": host + "/dev_data_fan.zip"}}]}).encode()
    ...         self.send_response(200)
    ...         self.send_header("Content-Length", str(len(body)))
    ...         self.end_headers()
    ...         self.wfile.write(body)
    ...     def log_message(self, *args):
    ...         pass
    >>> server = http.server.HTTPServer(("127.0.0.1", 0), Zenodo)
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()
    >>> data = fetch_dcase(2021, machine_types="fan", data_home=tempfile.mkdtemp(),
    ...                    base_url=f"http://127.0.0.1:{server.server_port}")
    >>> data.splits.tolist(), data.target.tolist()
    (['test', 'train'], [1, 0])
    >>> server.shutdown()
    """
    if (year, subset) not in _RECORDS:
        raise ValueError(f"no {subset!r} release is known for DCASE {year}")
    if base_url is not None and urllib.parse.urlsplit(base_url).scheme not in (
        "http",
        "https",
    ):
        raise ValueError(f"base_url must be an http(s):// URL, got {base_url!r}")
    if isinstance(machine_types, str):
        machine_types = [machine_types]
    tree = Path(get_data_home(data_home), f"dcase{year}", _SUBSET_FOLDER[subset])
    record, patterns = _RECORDS[year, subset]
    what = f"DCASE {year} {subset} (Zenodo record {record})"
    done = _machines_done(tree, subset)
    if machine_types is None:
        complete = _ALL in done
    else:
        machine_types = list(dict.fromkeys(machine_types))
        if not machine_types:
            raise ValueError("machine_types is empty: give names, or None for all")
        complete = all(m in done for m in machine_types)
    if not complete:
        if not download_if_missing:
            raise FileNotFoundError(
                f"{what} is not (completely) in {os.fspath(tree)!r} and "
                "download_if_missing=False"
            )
        options = {"timeout": timeout, "n_retries": n_retries, "delay": delay}
        base_url = _ZENODO if base_url is None else base_url
        with _lock(tree, what):
            files = _record_files(base_url, record, timeout=timeout)
            entries = _select(files, patterns, machine_types, what)
            fetched = list(dict.fromkeys(m for m, _ in entries))
            _announce(entries, tree, what)
            for _, entry in entries:
                _fetch_archive(entry, tree, keep=keep_archives, **options)
            if subset == "eval" and year in _GROUND_TRUTH:
                _fetch_ground_truth(year, tree, fetched, base_url, options)
            for machine in fetched:
                _mark_done(tree, f"{subset}-{machine}")
            if machine_types is None:
                _mark_done(tree, f"{subset}-{_ALL}")
        machine_types = fetched
    elif machine_types is None:
        machine_types = sorted(done - {_ALL})
    data = load_dcase(tree, machine_type=machine_types)
    data.root = os.fspath(tree)
    return data
