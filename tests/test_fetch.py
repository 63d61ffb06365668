"""fetch_dcase against a Zenodo-like records API served on 127.0.0.1."""

import contextlib
import errno
import hashlib
import http.server
import io
import json
import os
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sklearn_asd.datasets import _fetch, fetch_dcase, get_data_home, load_dcase

DEV, _ = _fetch._RECORDS[2021, "dev"]
EVAL, _ = _fetch._RECORDS[2021, "eval"]
ADDITIONAL, _ = _fetch._RECORDS[2021, "additional"]
TRUTH, _ = _fetch._GROUND_TRUTH[2021]


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _dev_archive(machine):
    return _zip(
        {
            f"{machine}/train/section_00_source_train_normal_000{i}_a_1.wav": b"x" * 50
            for i in range(3)
        }
        | {
            f"{machine}/source_test/section_00_source_test_anomaly_0000_a_1.wav": b"y",
            f"{machine}/target_test/section_00_target_test_normal_0000_a_1.wav": b"z",
        }
    )


def _eval_archive(machine):
    return _zip(
        {
            f"{machine}/source_test/section_03_source_test_0000.wav": b"a",
            f"{machine}/source_test/section_03_source_test_0001.wav": b"b",
            f"{machine}/target_test/section_03_target_test_0000.wav": b"c",
        }
    )


def _additional_archive(machine):
    return _zip(
        {
            f"{machine}/train/section_03_source_train_normal_0000_a_1.wav": b"t",
        }
    )


def _truth_archive(machine):
    return _zip(
        {
            f"ground_truth_data/ground_truth_{machine}_section_03_source_test.csv": (
                "section_03_source_test_0000.wav,1\nsection_03_source_test_0001.wav,0\n"
            ),
            f"ground_truth_data/ground_truth_{machine}_section_03_target_test.csv": (
                "section_03_target_test_0000.wav,1\n"
            ),
        }
    )


class Zenodo:
    """Records, files and the ways a server can misbehave."""

    def __init__(self):
        self.records = {}  # id -> {key: bytes}
        self.legacy = False
        self.cut = {}  # key -> bytes sent before closing the connection (once)
        self.ignore_range = False
        self.corrupt = set()  # keys served with other bytes than listed
        self.missing = set()  # keys answered with 404
        self.requests = []

    def add(self, record, key, data):
        self.records.setdefault(record, {})[key] = data

    def listing(self, record, host):
        files = []
        for key, data in self.records[record].items():
            md5 = hashlib.md5(data).hexdigest()
            url = f"{host}/files/{record}/{key}"
            if self.legacy:
                files.append(
                    {
                        "filename": key,
                        "filesize": len(data),
                        "checksum": md5,
                        "links": {"download": url},
                    }
                )
            else:
                files.append(
                    {
                        "key": key,
                        "size": len(data),
                        "checksum": f"md5:{md5}",
                        "links": {"self": url, "content": url + "?content"},
                    }
                )
        return {"id": record, "files": files}


@pytest.fixture
def zenodo():
    state = Zenodo()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body, headers=()):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            state.requests.append((path, self.headers.get("Range")))
            host = f"http://127.0.0.1:{self.server.server_port}"
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "records"] and len(parts) == 3:
                record = int(parts[2])
                if record not in state.records:
                    return self._send(404, b'{"status": 404}')
                body = json.dumps(state.listing(record, host)).encode()
                return self._send(200, body)
            if parts[0] == "records" and len(parts) == 4 and parts[2] == "files":
                parts = ["files", parts[1], parts[3]]  # Zenodo's plain file URL
            if parts[0] == "files" and len(parts) == 3:
                record, key = int(parts[1]), parts[2]
                data = state.records.get(record, {}).get(key)
                if data is None or key in state.missing:
                    return self._send(404, b"not found")
                if key in state.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not state.ignore_range:
                    start = int(wanted.split("=")[1].split("-")[0])
                status = 206 if start else 200
                body = data[start:]
                if key in state.cut:
                    n = state.cut.pop(key)
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:n])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self._send(status, body)
            return self._send(404, b"no such path")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll interval: shutdown() waits for it (0.5 s by default, per test)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def _fetch_args(zenodo, tmp_path, **kwargs):
    return {"data_home": tmp_path, "base_url": zenodo.url, "delay": 0, **kwargs}


def test_dev_set_downloads_extracts_and_loads_then_stays_offline(zenodo, tmp_path):
    for machine in ("fan", "pump"):
        zenodo.add(DEV, f"dev_data_{machine}.zip", _dev_archive(machine))
    data = fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert data.root == os.fspath(root)
    assert set(data.machine_types) == {"fan"}
    assert sorted(set(data.splits)) == ["test", "train"]
    np.testing.assert_array_equal(data.target, [1, 0, 0, 0, 0])
    assert not (root / "pump").exists()
    # no archive kept, no temporary folder left, the lock released
    assert not any(p.name.startswith(".extract") for p in root.iterdir())
    assert (root / ".fetch.lock").read_text() == ""  # released: no holder
    assert list((root / ".downloads").iterdir()) == []
    # the same call again makes no request
    before = len(zenodo.requests)
    again = fetch_dcase(
        2021,
        machine_types=["fan"],
        download_if_missing=False,
        **_fetch_args(zenodo, tmp_path),
    )
    assert len(zenodo.requests) == before
    np.testing.assert_array_equal(again.filenames, data.filenames)
    # load_dcase and fetch_dcase see the same tree
    np.testing.assert_array_equal(load_dcase(root).filenames, data.filenames)


def test_all_machine_types_and_the_legacy_listing_shape(zenodo, tmp_path):
    zenodo.legacy = True
    for machine in ("fan", "pump"):
        zenodo.add(DEV, f"dev_data_{machine}.zip", _dev_archive(machine))
    zenodo.add(DEV, "README.md", b"not an archive")
    data = fetch_dcase(2021, **_fetch_args(zenodo, tmp_path))
    assert sorted(set(data.machine_types)) == ["fan", "pump"]
    offline = fetch_dcase(2021, download_if_missing=False, data_home=tmp_path)
    assert sorted(set(offline.machine_types)) == ["fan", "pump"]


def test_eval_set_gets_the_official_ground_truth(zenodo, tmp_path):
    zenodo.add(EVAL, "eval_data_test_fan.zip", _eval_archive("fan"))
    zenodo.add(ADDITIONAL, "eval_data_train_fan.zip", _additional_archive("fan"))
    zenodo.add(TRUTH, "ground_truth_data.zip", _truth_archive("fan"))
    args = _fetch_args(zenodo, tmp_path)
    data = fetch_dcase(2021, machine_types="fan", subset="eval", **args)
    # the names stay official (result files must list them), the labels are real
    assert [Path(f).name for f in data.filenames] == [
        "section_03_source_test_0000.wav",
        "section_03_source_test_0001.wav",
        "section_03_target_test_0000.wav",
    ]
    np.testing.assert_array_equal(data.target, [1, 0, 1])
    root = Path(data.root)
    assert sorted(p.name for p in (root / "fan").glob("ground_truth_*.csv")) == [
        "ground_truth_fan_section_03_source_test.csv",
        "ground_truth_fan_section_03_target_test.csv",
    ]
    # the additional training data lands in the same tree
    both = fetch_dcase(2021, machine_types="fan", subset="additional", **args)
    assert both.root == data.root
    assert sorted(set(both.splits)) == ["test", "train"]
    # without the side-car files the clips are unlabelled again
    np.testing.assert_array_equal(
        load_dcase(root, split="test", ground_truth=None).target, [-1, -1, -1]
    )


def test_2020_ground_truth_list_and_2023_archive_names(zenodo, tmp_path):
    eval_2020, _ = _fetch._RECORDS[2020, "eval"]
    truth_2020, _ = _fetch._GROUND_TRUTH[2020]
    zenodo.add(
        eval_2020,
        "eval_data_test_fan.zip",
        _zip(
            {
                "fan/test/id_01_00000000.wav": b"a",
                "fan/test/id_01_00000001.wav": b"b",
            }
        ),
    )
    zenodo.add(
        truth_2020,
        "eval_data_list.csv",
        (
            b"fan\nid_01_00000000.wav,anomaly_id_01_00000000.wav,1\n"
            b"id_01_00000001.wav,normal_id_01_00000000.wav,0\n"
            b"pump\nid_01_00000000.wav,normal_id_01_00000000.wav,0\n"
        ),
    )
    data = fetch_dcase(
        2020, machine_types="fan", subset="eval", **_fetch_args(zenodo, tmp_path)
    )
    np.testing.assert_array_equal(data.target, [1, 0])
    assert set(data.naming) == {"dcase2020"}
    # 2022+ development archives are named dev_<machine>.zip; an entry without
    # links is downloaded from the record's files URL
    dev_2023, _ = _fetch._RECORDS[2023, "dev"]
    zenodo.add(
        dev_2023,
        "dev_ToyCar.zip",
        _zip(
            {
                "ToyCar/train/section_00_source_train_normal_0000_car_A1.wav": b"x",
                "ToyCar/test/section_00_source_test_anomaly_0000_car_A1.wav": b"y",
            }
        ),
    )
    original = zenodo.listing

    def no_links(record, host):
        listing = original(record, host)
        for entry in listing["files"]:
            del entry["links"]
        return listing

    zenodo.listing = no_links
    data = fetch_dcase(2023, **_fetch_args(zenodo, tmp_path))
    assert list(data.machine_types) == ["ToyCar", "ToyCar"]
    assert (f"/records/{dev_2023}/files/dev_ToyCar.zip", None) in zenodo.requests


@pytest.mark.parametrize("cut", [0, 1, 97, -1])
def test_interrupted_download_resumes_where_it_stopped(zenodo, tmp_path, cut):
    archive = _dev_archive("fan")
    zenodo.add(DEV, "dev_data_fan.zip", archive)
    cut = cut % len(archive)
    zenodo.cut["dev_data_fan.zip"] = cut
    args = _fetch_args(zenodo, tmp_path, n_retries=0)
    with pytest.raises(ConnectionError, match=r"closed the connection|only part"):
        fetch_dcase(2021, machine_types="fan", **args)
    part = Path(
        tmp_path, "dcase2021", "dev_data", ".downloads", "dev_data_fan.zip.part"
    )
    assert part.stat().st_size == cut
    assert not Path(tmp_path, "dcase2021", "dev_data", "fan").exists()
    data = fetch_dcase(2021, machine_types="fan", **args)
    assert len(data.filenames) == 5
    ranges = [r for p, r in zenodo.requests if p.endswith("dev_data_fan.zip")]
    assert ranges[-1] == (f"bytes={cut}-" if cut else None)


def test_retries_resume_within_one_call(zenodo, tmp_path):
    archive = _dev_archive("fan")
    zenodo.add(DEV, "dev_data_fan.zip", archive)
    zenodo.cut["dev_data_fan.zip"] = len(archive) // 3
    data = fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    assert len(data.filenames) == 5


def test_server_ignoring_range_restarts_the_file(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    zenodo.cut["dev_data_fan.zip"] = 40
    zenodo.ignore_range = True
    args = _fetch_args(zenodo, tmp_path, n_retries=0)
    with pytest.raises(ConnectionError):
        fetch_dcase(2021, machine_types="fan", **args)
    data = fetch_dcase(2021, machine_types="fan", **args)
    assert len(data.filenames) == 5


def test_checksum_mismatch_deletes_the_file(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    zenodo.corrupt.add("dev_data_fan.zip")
    with pytest.raises(
        OSError, match=r"checksum mismatch for dev_data_fan.zip.*deleted"
    ):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert list((root / ".downloads").iterdir()) == []
    assert not (root / "fan").exists()
    # a good download afterwards works
    zenodo.corrupt.clear()
    assert (
        len(
            fetch_dcase(
                2021, machine_types="fan", data_home=tmp_path, base_url=zenodo.url
            ).filenames
        )
        == 5
    )


def test_corrupted_zip_is_deleted_and_leaves_no_tree(zenodo, tmp_path):
    archive = bytearray(_dev_archive("fan"))
    archive[60:70] = b"\0" * 10  # inside the first member's data: CRC fails
    zenodo.add(DEV, "dev_data_fan.zip", bytes(archive))
    with pytest.raises(ValueError, match=r"not a valid zip archive.*deleted"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert sorted(p.name for p in root.iterdir()) == [".downloads", ".fetch.lock"]
    assert list((root / ".downloads").iterdir()) == []


def test_corrupted_deflated_zip_is_deleted(zenodo, tmp_path):
    """A damaged deflate stream (zlib.error, as real archives are deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "fan/train/section_00_source_train_normal_0000_a_1.wav",
            np.random.default_rng(0).bytes(4000),
        )
    archive = bytearray(buffer.getvalue())
    header = 30 + len("fan/train/section_00_source_train_normal_0000_a_1.wav")
    archive[header : header + 40] = b"\xff" * 40  # inside the deflate stream
    zenodo.add(DEV, "dev_data_fan.zip", bytes(archive))
    with pytest.raises(ValueError, match=r"not a valid zip archive.*deleted"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert list((root / ".downloads").iterdir()) == []


def test_kept_archive_of_another_version_is_downloaded_anew(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    downloads = Path(tmp_path, "dcase2021", "dev_data", ".downloads")
    downloads.mkdir(parents=True)
    stale = bytearray(_dev_archive("fan"))
    stale[-1] ^= 0xFF  # same size, other bytes
    (downloads / "dev_data_fan.zip").write_bytes(bytes(stale))
    data = fetch_dcase(
        2021, machine_types="fan", keep_archives=True, **_fetch_args(zenodo, tmp_path)
    )
    assert len(data.filenames) == 5
    assert (downloads / "dev_data_fan.zip").read_bytes() == _dev_archive("fan")


def test_leftover_extraction_of_a_killed_fetch_is_removed(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    root = Path(tmp_path, "dcase2021", "dev_data")
    leftover = root / ".extract-dev_data_fan.zip-999999" / "fan" / "train"
    leftover.mkdir(parents=True)
    fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    assert not any(p.name.startswith(".extract") for p in root.iterdir())


@pytest.mark.parametrize("key", ["../../evil.csv", "a/b.csv", "..\\evil.csv"])
def test_listed_file_names_that_are_paths_are_refused(zenodo, tmp_path, key):
    zenodo.add(EVAL, "eval_data_fan_test.zip", _eval_archive("fan"))
    zenodo.add(TRUTH, key, b"section_03_source_test_0000.wav,1\n")
    with pytest.raises(ValueError, match="refusing the file name"):
        fetch_dcase(
            2021, machine_types="fan", subset="eval", **_fetch_args(zenodo, tmp_path)
        )
    assert not Path(tmp_path, "evil.csv").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="base_url must be an http"):
        fetch_dcase(
            2021, machine_types="fan", data_home=tmp_path, base_url="zenodo.org"
        )
    with pytest.raises(ValueError, match="machine_types is empty"):
        fetch_dcase(2021, machine_types=[], data_home=tmp_path)


def test_not_a_zip_at_all(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", b"<html>a login page</html>")
    with pytest.raises(ValueError, match=r"dev_data_fan.zip is not a valid zip"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))


def test_members_outside_the_tree_are_refused(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _zip({"../evil.wav": b"x"}))
    with pytest.raises(ValueError, match="outside"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    assert not Path(tmp_path, "dcase2021", "evil.wav").exists()


def test_404_for_the_record_and_for_a_file(zenodo, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"record {DEV} was not found"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    zenodo.missing.add("dev_data_fan.zip")
    with pytest.raises(
        FileNotFoundError,
        match=r"file dev_data_fan.zip of Zenodo record \d+ is listed.*404",
    ):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))


def test_unreachable_server(tmp_path):
    with pytest.raises(ConnectionError, match=r"cannot reach http://127.0.0.1:9/"):
        fetch_dcase(
            2021,
            machine_types="fan",
            data_home=tmp_path,
            base_url="http://127.0.0.1:9",
            timeout=5,
        )


def test_unknown_machine_type_names_the_available_ones(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    with pytest.raises(ValueError, match=r"\['valve'\]; available: \['fan'\]"):
        fetch_dcase(2021, machine_types="valve", **_fetch_args(zenodo, tmp_path))


def test_missing_set_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        fetch_dcase(
            2021, machine_types="fan", data_home=tmp_path, download_if_missing=False
        )


def test_full_disk_is_said_before_downloading(zenodo, tmp_path, monkeypatch):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    usage = type("usage", (), {"free": 10, "total": 10, "used": 0})
    monkeypatch.setattr(_fetch.shutil, "disk_usage", lambda path: usage)
    with pytest.raises(OSError, match=r"only 0.00 GB are free") as info:
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    assert info.value.errno == errno.ENOSPC


def test_full_disk_while_extracting_leaves_no_tree(zenodo, tmp_path, monkeypatch):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))

    def full(self, path=None, *args, **kwargs):
        Path(path, "fan").mkdir(parents=True)  # something was written already
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", full)
    with pytest.raises(OSError, match="no space left on the device"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert sorted(p.name for p in root.iterdir()) == [".downloads", ".fetch.lock"]


@contextlib.contextmanager
def _other_fetch(root):
    """A second process holding the set's lock, as a running fetch does."""
    import subprocess
    import sys

    code = (
        "import fcntl, os, sys, time\n"
        f"f = open({os.fspath(root / '.fetch.lock')!r}, 'a+')\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "f.seek(0); f.truncate(); f.write(str(os.getpid())); f.flush()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert other.stdout.readline().strip() == b"locked"
        yield other.pid
    finally:
        other.kill()
        other.wait()


needs_flock = pytest.mark.skipif(
    not hasattr(os, "fork"), reason="the lock is an flock on POSIX systems"
)


@needs_flock
def test_second_process_fetching_the_same_set(zenodo, tmp_path):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    root = Path(tmp_path, "dcase2021", "dev_data")
    root.mkdir(parents=True)
    with _other_fetch(root) as pid:
        with pytest.raises(BlockingIOError, match=rf"another process \(pid {pid}\)"):
            fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
        assert not (root / "fan").exists()
    # the process is gone (its pid is still in the file): the kernel freed the lock
    assert (root / ".fetch.lock").read_text() == str(pid)
    data = fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))
    assert len(data.filenames) == 5


def test_listing_without_checksum_is_refused(zenodo, tmp_path, monkeypatch):
    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    original = zenodo.listing

    def no_md5(record, host):
        listing = original(record, host)
        for entry in listing["files"]:
            entry["checksum"] = "sha256:" + "0" * 64
        return listing

    monkeypatch.setattr(zenodo, "listing", no_md5)
    with pytest.raises(ValueError, match="no MD5 checksum"):
        fetch_dcase(2021, machine_types="fan", **_fetch_args(zenodo, tmp_path))


def test_data_home_default_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_ASD_DATA", os.fspath(tmp_path / "env"))
    assert get_data_home() == os.fspath(tmp_path / "env")
    monkeypatch.delenv("SKLEARN_ASD_DATA")
    monkeypatch.setenv("HOME", os.fspath(tmp_path))
    assert get_data_home() == os.fspath(tmp_path / "sklearn_asd_data")


def test_unknown_release():
    with pytest.raises(ValueError, match="year"):
        fetch_dcase(2019)
    with pytest.raises(ValueError, match="subset"):
        fetch_dcase(2021, subset="test")


# ------------------------------------------------------ sklearn-asd fetch


def _wav(seed):
    import soundfile as sf

    buffer = io.BytesIO()
    noise = np.random.default_rng(seed).standard_normal(16000) * 0.1
    sf.write(buffer, noise, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_cli_fetch_prints_the_tree_and_train_reads_it(zenodo, tmp_path, capsys):
    from sklearn_asd.cli import main

    names = [
        "train/section_00_source_train_normal_0000_a_1.wav",
        "train/section_00_source_train_normal_0001_a_1.wav",
        "train/section_00_source_train_normal_0002_a_1.wav",
        "source_test/section_00_source_test_anomaly_0000_a_1.wav",
        "target_test/section_00_target_test_normal_0000_a_1.wav",
    ]
    zenodo.add(
        DEV,
        "dev_data_fan.zip",
        _zip({f"fan/{name}": _wav(i) for i, name in enumerate(names)}),
    )
    zenodo.add(DEV, "dev_data_pump.zip", _dev_archive("pump"))
    argv = [
        "fetch",
        "dcase2021",
        "--machine-type",
        "fan",
        "--data-home",
        str(tmp_path),
        "--base-url",
        zenodo.url,
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    root = Path(tmp_path, "dcase2021", "dev_data")
    assert captured.out.strip() == os.fspath(root)
    assert "DCASE 2021 dev: 5 clips (5 labelled) of fan in" in captured.err
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [
        "fan"
    ]
    # the fetched tree is what train reads
    model = tmp_path / "model.joblib"
    argv = [
        "train",
        captured.out.strip(),
        "--out",
        str(model),
        "--detector",
        "knn",
        "--quiet",
    ]
    assert main(argv) == 0
    assert model.is_file()


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda z: z.missing.add("dev_data_fan.zip"), "answered 404"),
        (lambda z: z.corrupt.add("dev_data_fan.zip"), "checksum mismatch"),
        (lambda z: None, r"machine type\(s\) \['valve'\]"),
    ],
)
def test_cli_fetch_errors_are_one_line(zenodo, tmp_path, capsys, break_it, message):
    from sklearn_asd.cli import main

    zenodo.add(DEV, "dev_data_fan.zip", _dev_archive("fan"))
    break_it(zenodo)
    machine = "valve" if "valve" in message else "fan"
    argv = [
        "fetch",
        "dcase2021",
        "--machine-type",
        machine,
        "--data-home",
        str(tmp_path),
        "--base-url",
        zenodo.url,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sklearn-asd fetch: error: ")
    assert re.search(message, err[0])


@needs_flock
def test_cli_fetch_while_another_process_fetches(zenodo, tmp_path, capsys):
    from sklearn_asd.cli import main

    root = Path(tmp_path, "dcase2021", "dev_data")
    root.mkdir(parents=True)
    argv = [
        "fetch",
        "dcase2021",
        "--data-home",
        str(tmp_path),
        "--base-url",
        zenodo.url,
    ]
    with _other_fetch(root):
        assert main(argv) == 2
    assert "another process" in capsys.readouterr().err


# ------------------------------------------------- load_dcase(ground_truth=...)


def _eval_tree(root):
    for name in ("section_03_0000.wav", "section_03_0001.wav"):
        path = Path(root, "fan", "test", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def test_load_dcase_ground_truth_side_car_and_path(tmp_path):
    _eval_tree(tmp_path / "tree")
    np.testing.assert_array_equal(load_dcase(tmp_path / "tree").target, [-1, -1])
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "ground_truth_fan_section_03_test.csv").write_text(
        "section_03_0000.wav,1\nsection_03_0001.wav,0\n"
    )
    data = load_dcase(tmp_path / "tree", ground_truth=truth)
    np.testing.assert_array_equal(data.target, [1, 0])
    # a CSV of another machine type labels nothing here
    other = truth / "ground_truth_pump_section_03_test.csv"
    other.write_text("section_03_0000.wav,0\n")
    np.testing.assert_array_equal(
        load_dcase(tmp_path / "tree", ground_truth=truth).target, [1, 0]
    )
    os.replace(
        truth / "ground_truth_fan_section_03_test.csv",
        tmp_path / "tree" / "fan" / "ground_truth_fan_section_03_test.csv",
    )
    np.testing.assert_array_equal(load_dcase(tmp_path / "tree").target, [1, 0])


def test_load_dcase_ground_truth_without_machine_in_its_name(tmp_path):
    """Evaluation clip names repeat across machine types: never mix them up."""
    _eval_tree(tmp_path)
    for name in ("section_03_0000.wav", "section_03_0001.wav"):
        path = Path(tmp_path, "pump", "test", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    # in a machine folder, the folder names the machine type
    (tmp_path / "fan" / "ground_truth_labels.csv").write_text(
        "section_03_0000.wav,1\nsection_03_0001.wav,0\n"
    )
    data = load_dcase(tmp_path)
    np.testing.assert_array_equal(data.target[data.machine_types == "fan"], [1, 0])
    np.testing.assert_array_equal(data.target[data.machine_types == "pump"], [-1, -1])
    # given explicitly for a tree of several machine types: refused
    with pytest.raises(ValueError, match="names no machine type"):
        load_dcase(tmp_path, ground_truth=tmp_path / "fan" / "ground_truth_labels.csv")


def test_load_dcase_ground_truth_errors(tmp_path):
    _eval_tree(tmp_path)
    bad = tmp_path / "fan" / "ground_truth_fan_section_03_test.csv"
    bad.write_text("section_03_0000.wav,anomaly\n")
    with pytest.raises(ValueError, match="line 1: expected a 'file,label' row"):
        load_dcase(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a CSV file nor a folder"):
        load_dcase(tmp_path, ground_truth=tmp_path / "nope.csv")
    # a label that contradicts the file name
    Path(tmp_path, "fan", "train").mkdir()
    Path(tmp_path, "fan", "train", "section_03_source_train_normal_0000_a.wav").touch()
    bad.write_text("section_03_source_train_normal_0000_a.wav,1\n")
    with pytest.raises(ValueError, match="but its name says 0"):
        load_dcase(tmp_path)
