import csv
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd.datasets._dcase import _parse_filename, load_dcase

REAL_TREES = {
    "dcase2020t2-dev-lite": "dcase2020",
    "dcase2021t2-dev-single": "dcase2021",
    "dcase2023t2-dev-sample": "dcase2022",
    "mimii-becode-demo-ch0": "mimii",
}


def _make_tree(root, relpaths):
    """Create empty files at ``root / relpath``; return root."""
    for rel in relpaths:
        path = Path(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


def _read_manifest(folder):
    with open(folder / "manifest.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


# ---------------------------------------------------------------------------
# _parse_filename


PARSE_CASES = [
    # DCASE 2020 development
    (
        "fan/train/normal_id_00_00000000.wav",
        {"split": "train", "section": "00", "domain": "unknown", "target": 0},
        {},
        "dcase2020",
    ),
    (
        "ToyCar/test/anomaly_id_04_00000167.wav",
        {"split": "test", "section": "04", "domain": "unknown", "target": 1},
        {},
        "dcase2020",
    ),
    # DCASE 2020 evaluation
    (
        "fan/test/id_05_00000012.wav",
        {"split": "test", "section": "05", "domain": "unknown", "target": -1},
        {},
        "dcase2020",
    ),
    # DCASE 2021 development
    (
        "pump/source_test/section_00_source_test_anomaly_0000.wav",
        {"split": "test", "section": "00", "domain": "source", "target": 1},
        {},
        "dcase2021",
    ),
    (
        "gearbox/target_test/section_02_target_test_normal_0013.wav",
        {"split": "test", "section": "02", "domain": "target", "target": 0},
        {},
        "dcase2021",
    ),
    (
        "fan/train/section_01_target_train_normal_0003.wav",
        {"split": "train", "section": "01", "domain": "target", "target": 0},
        {},
        "dcase2021",
    ),
    (
        "fan/train/section_00_source_train_normal_0000_strength_1_ambient.wav",
        {"split": "train", "section": "00", "domain": "source", "target": 0},
        {"strength": "1", "ambient": ""},
        "dcase2021",
    ),
    # DCASE 2021 evaluation
    (
        "valve/test/section_04_target_test_0042.wav",
        {"split": "test", "section": "04", "domain": "target", "target": -1},
        {},
        "dcase2021",
    ),
    # DCASE 2022+ development
    (
        "ToyTrain/test/section_00_target_test_anomaly_0015_car_A2_spd_6_mic_2.wav",
        {"split": "test", "section": "00", "domain": "target", "target": 1},
        {"car": "A2", "spd": "6", "mic": "2"},
        "dcase2022",
    ),
    (
        "fan/train/section_00_source_train_normal_0040_m-n_X.wav",
        {"split": "train", "section": "00", "domain": "source", "target": 0},
        {"m-n": "X"},
        "dcase2022",
    ),
    (
        "gearbox/test/section_00_source_test_normal_0026_volt_1.5_wt_150.wav",
        {"split": "test", "section": "00", "domain": "source", "target": 0},
        {"volt": "1.5", "wt": "150"},
        "dcase2022",
    ),
    (
        "3DPrinter/train/section_00_source_train_normal_0001_noAttribute.wav",
        {"split": "train", "section": "00", "domain": "source", "target": 0},
        {},
        "dcase2022",
    ),
    (
        "bearing/test/section_03_target_test_normal_0007_vel_6_loc_A.flac",
        {"split": "test", "section": "03", "domain": "target", "target": 0},
        {"vel": "6", "loc": "A"},
        "dcase2022",
    ),
    # DCASE 2022+ evaluation
    (
        "slider/test/section_00_0099.wav",
        {"split": "test", "section": "00", "domain": "unknown", "target": -1},
        {},
        "dcase2022",
    ),
    # MIMII
    (
        "fan/normal/00000007.wav",
        {"split": "unknown", "section": "unknown", "domain": "unknown", "target": 0},
        {},
        "mimii",
    ),
    (
        "pump/abnormal/00000123.wav",
        {"split": "unknown", "section": "unknown", "domain": "unknown", "target": 1},
        {},
        "mimii",
    ),
]


@pytest.mark.parametrize(
    "relpath, expected, attributes, naming",
    PARSE_CASES,
    ids=[case[0].split("/", 2)[2] for case in PARSE_CASES],
)
def test_parse_filename(relpath, expected, attributes, naming):
    """Check that every naming scheme is parsed into the expected fields."""
    info = _parse_filename(Path("/data", relpath))
    assert info["machine_type"] == relpath.split("/")[0]
    for key, value in expected.items():
        assert info[key] == value, key
    assert info["label"] == {0: "normal", 1: "anomaly", -1: "unknown"}[info["target"]]
    assert info["attributes"] == attributes
    assert info["naming"] == naming


def test_parse_filename_accepts_str_and_bare_names():
    """Check that a str path works and that a missing machine folder is unknown."""
    assert _parse_filename("fan/test/id_00_00000001.wav")["machine_type"] == "fan"
    info = _parse_filename("section_00_0001.wav")
    assert info["machine_type"] == "unknown"
    assert info["split"] == "unknown"


@pytest.mark.parametrize(
    "suffix, attributes, naming",
    [
        ("a_1", {"a": "1"}, "dcase2022"),
        ("a_1_b_2_c_3", {"a": "1", "b": "2", "c": "3"}, "dcase2022"),
        ("A1Spd28VMic1", {"A1Spd28VMic1": ""}, "dcase2021"),
        (
            "0_g_25_mm_2000_mV_none",
            {"0": "g", "25": "mm", "2000": "mV", "none": ""},
            "dcase2021",
        ),
        ("noAttribute", {}, "dcase2022"),
    ],
)
def test_parse_filename_attribute_tokens(suffix, attributes, naming):
    """Check that attribute tokens pair from the left and odd counts keep all."""
    info = _parse_filename(f"m/train/section_00_source_train_normal_0000_{suffix}.wav")
    assert info["attributes"] == attributes
    assert info["naming"] == naming


@pytest.mark.parametrize(
    "relpath, match",
    [
        ("fan/test/readme.wav", "matches no known naming scheme"),
        ("fan/test/00000001.wav", "matches no known naming scheme"),
        ("fan/test/section_00_source_test_normal.wav", "accepted patterns"),
        ("fan/test/normal_id_00_00000000.txt", "only .wav and .flac"),
        ("fan/train/section_00_source_test_normal_0000_a_1.wav", "says split 'test'"),
        (
            "fan/source_test/section_00_target_test_normal_0000.wav",
            "says domain 'target'",
        ),
    ],
)
def test_parse_filename_errors(relpath, match):
    """Check that unknown names and name/folder contradictions raise."""
    with pytest.raises(ValueError, match=match):
        _parse_filename(relpath)


# ---------------------------------------------------------------------------
# real trees in ../shared/datasets


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(REAL_TREES))
def test_load_dcase_real_tree_matches_manifest(shared_datasets, name):
    """Check that every real file's metadata matches the tree's manifest.csv."""
    folder = shared_datasets / name
    manifest = _read_manifest(folder)
    data = load_dcase(folder)

    assert len(data.filenames) == len(manifest)
    assert set(data.naming) == {REAL_TREES[name]}
    for i, filename in enumerate(data.filenames):
        rel = Path(filename).relative_to(folder).as_posix()
        row = manifest[rel]
        assert data.machine_types[i] == row["machine_type"], rel
        assert data.sections[i] == row["section"], rel
        # the manifests write an absent domain as an empty field
        assert data.domains[i] == (row["domain"] or "unknown"), rel
        if REAL_TREES[name] == "mimii":
            # MIMII folders carry no split: the manifest's "test" is the curator's
            # intended use, not something the names say.
            assert row["split"] == "test"
            assert data.splits[i] == "unknown", rel
        else:
            assert data.splits[i] == row["split"], rel
        assert data.target[i] == {"normal": 0, "anomaly": 1}[row["label"]], rel


@pytest.mark.network
def test_load_dcase_real_2020(shared_datasets):
    """Check the DCASE 2020 sample: 6 machines x (3 normal + 3 anomalous)."""
    data = load_dcase(shared_datasets / "dcase2020t2-dev-lite")
    machines, counts = np.unique(data.machine_types, return_counts=True)
    assert list(machines) == ["ToyCar", "ToyConveyor", "fan", "pump", "slider", "valve"]
    assert list(counts) == [6] * 6
    assert set(data.splits) == {"test"}
    assert data.target.sum() == 18
    sections = dict(zip(data.machine_types, data.sections))
    assert sections == {
        "ToyCar": "04",
        "ToyConveyor": "01",
        "fan": "06",
        "pump": "04",
        "slider": "00",
        "valve": "02",
    }


@pytest.mark.network
def test_load_dcase_real_2021(shared_datasets):
    """Check the single DCASE 2021 clip from a source_test folder."""
    data = load_dcase(shared_datasets / "dcase2021t2-dev-single")
    assert list(data.machine_types) == ["pump"]
    assert list(data.splits) == ["test"]
    assert list(data.domains) == ["source"]
    assert list(data.target) == [1]
    assert list(data.naming) == ["dcase2021"]


@pytest.mark.network
def test_load_dcase_real_2023(shared_datasets):
    """Check the DCASE 2023 sample: 7 machines, attributes, splits and domains."""
    folder = shared_datasets / "dcase2023t2-dev-sample"
    data = load_dcase(folder)
    assert len(np.unique(data.machine_types)) == 7
    assert set(data.splits) == {"train", "test"}
    assert set(data.domains) == {"source", "target"}
    assert (data.splits == "train").sum() == 14
    assert data.target.sum() == 5
    assert all(attrs for attrs in data.attributes)
    by_name = {Path(f).name: a for f, a in zip(data.filenames, data.attributes)}
    assert by_name["section_00_target_test_anomaly_0015_car_A2_spd_6_mic_2.wav"] == {
        "car": "A2",
        "spd": "6",
        "mic": "2",
    }
    assert by_name["section_00_source_test_anomaly_0022_m-n_W.wav"] == {"m-n": "W"}
    assert by_name["section_00_source_test_normal_0026_volt_1.5_wt_150.wav"] == {
        "volt": "1.5",
        "wt": "150",
    }
    assert by_name["section_00_source_test_normal_0027_vel_730_ac_0.11.wav"] == {
        "vel": "730",
        "ac": "0.11",
    }

    fan = load_dcase(folder, machine_type="fan", split="test", domain="target")
    assert [Path(f).name for f in fan.filenames] == [
        "section_00_target_test_normal_0021_m-n_Y.wav"
    ]
    # a single machine folder as root gives the same files for that machine
    single = load_dcase(folder / "fan")
    assert list(single.filenames) == list(
        load_dcase(folder, machine_type="fan").filenames
    )


@pytest.mark.network
def test_load_dcase_real_mimii(shared_datasets):
    """Check the MIMII sample: fan 10 normal + 10 abnormal, pump 10 abnormal."""
    data = load_dcase(shared_datasets / "mimii-becode-demo-ch0")
    fan = data.machine_types == "fan"
    pump = data.machine_types == "pump"
    assert (data.target[fan] == 0).sum() == 10
    assert (data.target[fan] == 1).sum() == 10
    assert (data.target[pump] == 1).sum() == 10
    assert (data.target[pump] == 0).sum() == 0
    assert set(data.sections) == {"unknown"}
    assert set(data.splits) == {"unknown"}


# ---------------------------------------------------------------------------
# fake trees for every scheme

DEV_2020 = [
    "fan/train/normal_id_00_00000000.wav",
    "fan/train/normal_id_02_00000001.wav",
    "fan/test/normal_id_00_00000002.wav",
    "fan/test/anomaly_id_00_00000003.wav",
    "pump/test/anomaly_id_01_00000000.wav",
]
DEV_2021 = [
    "gearbox/train/section_00_source_train_normal_0000_volt_1.0_wt_30.wav",
    "gearbox/train/section_01_target_train_normal_0000.wav",
    "gearbox/source_test/section_00_source_test_normal_0000.wav",
    "gearbox/source_test/section_00_source_test_anomaly_0000.wav",
    "gearbox/target_test/section_01_target_test_anomaly_0000.wav",
]
DEV_2022 = [
    "valve/train/section_00_source_train_normal_0000_pat_00.wav",
    "valve/train/section_01_target_train_normal_0001_pat_02.wav",
    "valve/test/section_00_source_test_anomaly_0000_pat_00.wav",
    "valve/test/section_01_target_test_normal_0000_pat_02.wav",
]
EVAL_2020 = ["fan/test/id_01_00000000.wav", "fan/test/id_03_00000001.wav"]
EVAL_2021 = [
    "pump/train/section_03_source_train_normal_0000_serial_no_000_water.wav",
    "pump/test/section_03_source_test_0000.wav",
    "pump/test/section_03_target_test_0001.wav",
]
EVAL_2022 = ["bearing/test/section_00_0000.wav", "bearing/test/section_00_0001.wav"]
MIMII = [
    "fan/normal/00000000.wav",
    "fan/normal/00000001.wav",
    "fan/abnormal/00000000.wav",
    "valve/abnormal/00000000.wav",
]


def test_load_dcase_2020(tmp_path):
    """Check a DCASE 2020 tree with train and test folders."""
    data = load_dcase(_make_tree(tmp_path, DEV_2020))
    assert isinstance(data, Bunch)
    assert list(data.target) == [1, 0, 0, 0, 1]
    assert list(data.splits) == ["test", "test", "train", "train", "test"]
    assert list(data.sections) == ["00", "00", "00", "02", "01"]
    assert set(data.domains) == {"unknown"}
    assert set(data.naming) == {"dcase2020"}
    assert list(data.attributes) == [{}] * 5


def test_load_dcase_2021(tmp_path):
    """Check a DCASE 2021 tree: {source,target}_test folders map to test."""
    data = load_dcase(_make_tree(tmp_path, DEV_2021))
    assert list(data.splits) == ["test"] * 3 + ["train"] * 2
    assert list(data.domains) == ["source", "source", "target", "source", "target"]
    assert list(data.sections) == ["00", "00", "01", "00", "01"]
    assert list(data.target) == [1, 0, 1, 0, 0]
    # the training file with key/value attributes follows its machine's scheme
    assert set(data.naming) == {"dcase2021"}
    assert data.attributes[3] == {"volt": "1.0", "wt": "30"}


def test_load_dcase_2022(tmp_path):
    """Check a DCASE 2022+ tree with attributes."""
    data = load_dcase(_make_tree(tmp_path, DEV_2022))
    assert list(data.splits) == ["test", "test", "train", "train"]
    assert list(data.domains) == ["source", "target", "source", "target"]
    assert list(data.target) == [1, 0, 0, 0]
    assert set(data.naming) == {"dcase2022"}
    assert [a["pat"] for a in data.attributes] == ["00", "02", "00", "02"]


@pytest.mark.parametrize(
    "relpaths, naming, domains",
    [
        (EVAL_2020, "dcase2020", ["unknown", "unknown"]),
        (EVAL_2021[1:], "dcase2021", ["source", "target"]),
        (EVAL_2022, "dcase2022", ["unknown", "unknown"]),
    ],
)
def test_load_dcase_evaluation_sets(tmp_path, relpaths, naming, domains):
    """Check that evaluation-set names load with target -1 (unknown label)."""
    data = load_dcase(_make_tree(tmp_path, relpaths))
    assert list(data.target) == [-1, -1]
    assert set(data.naming) == {naming}
    assert list(data.domains) == domains
    assert set(data.splits) == {"test"}
    assert "unknown" in data.DESCR


def test_load_dcase_2021_evaluation_train_follows_machine(tmp_path):
    """Check that an even-token training name takes its machine's 2021 scheme."""
    data = load_dcase(_make_tree(tmp_path, EVAL_2021))
    assert set(data.naming) == {"dcase2021"}
    assert data.attributes[-1] == {"serial": "no", "000": "water"}
    # alone, the same training file reads as 2022+ key/value attributes
    alone = load_dcase(_make_tree(tmp_path / "alone", EVAL_2021[:1]))
    assert list(alone.naming) == ["dcase2022"]


def test_load_dcase_mimii(tmp_path):
    """Check a MIMII tree: label from the folder, split and section unknown."""
    data = load_dcase(_make_tree(tmp_path, MIMII))
    assert list(data.machine_types) == ["fan", "fan", "fan", "valve"]
    assert list(data.target) == [1, 0, 0, 1]
    assert set(data.splits) == {"unknown"}
    assert set(data.sections) == {"unknown"}
    assert set(data.naming) == {"mimii"}


def test_load_dcase_mixed_schemes(tmp_path):
    """Check that one tree may mix naming schemes across machines."""
    relpaths = DEV_2020[-1:] + DEV_2022 + MIMII[-1:]
    data = load_dcase(_make_tree(tmp_path, relpaths))
    assert list(data.machine_types) == ["pump"] + ["valve"] * 5
    assert list(data.naming) == ["dcase2020"] + ["dcase2022"] * 4 + ["mimii"]
    assert list(data.splits) == ["test"] * 3 + ["train"] * 2 + ["unknown"]
    assert list(data.target) == [1, 1, 0, 0, 0, 1]


def test_load_dcase_single_machine_folder(tmp_path):
    """Check that a machine folder as root uses its own name as machine type."""
    _make_tree(tmp_path, DEV_2022 + MIMII)
    data = load_dcase(tmp_path / "valve")
    assert set(data.machine_types) == {"valve"}
    assert len(data.filenames) == 5
    assert sorted(set(data.naming)) == ["dcase2022", "mimii"]
    mimii = load_dcase(tmp_path / "fan")
    assert list(mimii.target) == [1, 0, 0]


def test_load_dcase_root_types_and_filenames(tmp_path):
    """Check that str and PathLike roots give root-joined, sorted paths."""
    _make_tree(tmp_path, DEV_2020)
    from_path = load_dcase(tmp_path)
    from_str = load_dcase(str(tmp_path))
    assert list(from_path.filenames) == list(from_str.filenames)
    assert from_path.filenames.dtype.kind == "U"
    assert from_path.filenames[0] == os.path.join(
        str(tmp_path), "fan", "test", "anomaly_id_00_00000003.wav"
    )
    assert all(Path(f).is_file() for f in from_path.filenames)
    keys = list(zip(from_path.machine_types, from_path.splits, from_path.filenames))
    assert keys == sorted(keys)


def test_load_dcase_output_types(tmp_path):
    """Check the Bunch keys and array dtypes."""
    data = load_dcase(_make_tree(tmp_path, DEV_2022))
    assert set(data) == {
        "filenames",
        "target",
        "sections",
        "domains",
        "machine_types",
        "splits",
        "attributes",
        "naming",
        "DESCR",
    }
    assert data.target.dtype.kind == "i"
    for key in ["sections", "domains", "machine_types", "splits", "naming"]:
        assert data[key].dtype.kind == "U", key
        assert data[key].shape == data.target.shape
    assert data.attributes.dtype == object
    data.attributes[0]["pat"] = "changed"
    assert data.attributes[2]["pat"] == "00"
    assert isinstance(data.DESCR, str)
    assert str(tmp_path) in data.DESCR
    assert "dcase2022" in data.DESCR


def test_load_dcase_return_X_y(tmp_path):
    """Check that return_X_y gives (filenames, target) equal to the Bunch's."""
    _make_tree(tmp_path, DEV_2021)
    X, y = load_dcase(tmp_path, return_X_y=True)
    data = load_dcase(tmp_path)
    np.testing.assert_array_equal(X, data.filenames)
    np.testing.assert_array_equal(y, data.target)


def test_load_dcase_ignores_other_files(tmp_path):
    """Check that non-audio and hidden files are ignored."""
    _make_tree(
        tmp_path,
        [
            *DEV_2022,
            "README.md",
            "valve/attributes_00.csv",
            "valve/test/notes.txt",
            "valve/test/._section_00_source_test_normal_0001_pat_00.wav",
            ".cache/valve/test/section_00_source_test_normal_0002_pat_00.wav",
            "valve/.ipynb_checkpoints/section_00_source_test_normal_0003_pat_00.wav",
        ],
    )
    assert len(load_dcase(tmp_path).filenames) == 4


# ---------------------------------------------------------------------------
# filters


def test_load_dcase_filters(tmp_path):
    """Check the machine_type, split, section and domain filters."""
    _make_tree(tmp_path, DEV_2020 + DEV_2021)
    data = load_dcase(tmp_path, machine_type="gearbox")
    assert set(data.machine_types) == {"gearbox"}
    data = load_dcase(tmp_path, machine_type=["fan", "pump"], split="test")
    assert len(data.filenames) == 3
    data = load_dcase(tmp_path, section=["00", "01"], domain="target")
    assert list(data.sections) == ["01", "01"]
    data = load_dcase(tmp_path, domain="unknown")
    assert set(data.machine_types) == {"fan", "pump"}
    data = load_dcase(
        tmp_path, machine_type="gearbox", split="test", section="00", domain="source"
    )
    assert list(data.target) == [1, 0]
    X, y = load_dcase(tmp_path, split="train", return_X_y=True)
    assert len(X) == len(y) == 4


def test_load_dcase_unknown_filter_values(tmp_path):
    """Check that a filter value absent from the tree lists the available ones."""
    _make_tree(tmp_path, DEV_2020 + DEV_2021)
    msg = r"unknown machine_type 'valve' in .*; available: \['fan', 'gearbox', 'pump"
    with pytest.raises(ValueError, match=msg):
        load_dcase(tmp_path, machine_type=["fan", "valve"])
    with pytest.raises(
        ValueError, match=r"unknown section '07' for fan; available: \['00', '02'\]"
    ):
        load_dcase(tmp_path, machine_type="fan", section="07")
    with pytest.raises(ValueError, match=r"unknown section '02' for \['gearbox', "):
        load_dcase(tmp_path, machine_type=["gearbox", "pump"], section="02")
    with pytest.raises(
        ValueError, match=r"unknown split 'valid' in .*available: \['test', 'train'\]"
    ):
        load_dcase(tmp_path, split="valid")
    with pytest.raises(
        ValueError, match=r"unknown domain 'source' for fan; available: \['unknown'\]"
    ):
        load_dcase(tmp_path, machine_type="fan", domain="source")


def test_load_dcase_filters_leave_nothing(tmp_path):
    """Check that filters which exist alone but not together raise."""
    _make_tree(tmp_path, DEV_2020)
    with pytest.raises(ValueError, match=r"no file under .* matches all of"):
        load_dcase(tmp_path, machine_type="fan", split="test", section="02")


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"machine_type": []}, ValueError, "non-empty list"),
        ({"section": ["00", 1]}, TypeError, "got an element 1 of type int"),
        ({"machine_type": 3}, InvalidParameterError, "machine_type"),
        ({"split": ("train",)}, InvalidParameterError, "split"),
        ({"return_X_y": "yes"}, InvalidParameterError, "return_X_y"),
    ],
)
def test_load_dcase_invalid_filter_types(tmp_path, params, error, match):
    """Check that malformed filter arguments raise."""
    _make_tree(tmp_path, DEV_2020)
    with pytest.raises(error, match=match):
        load_dcase(tmp_path, **params)


# ---------------------------------------------------------------------------
# errors


def test_load_dcase_missing_root(tmp_path):
    """Check that a missing root raises FileNotFoundError naming it."""
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dcase(missing)
    (tmp_path / "file.wav").touch()
    with pytest.raises(FileNotFoundError, match=r"file\.wav.* is not a folder"):
        load_dcase(tmp_path / "file.wav")


def test_load_dcase_invalid_root_type():
    """Check that a non-path root is rejected by parameter validation."""
    with pytest.raises(InvalidParameterError, match="root"):
        load_dcase(3)


def test_load_dcase_no_audio(tmp_path):
    """Check that a tree without audio files raises, naming the root."""
    _make_tree(tmp_path, ["fan/train/notes.txt", "README.md"])
    msg = f"no .wav or .flac file found under .*{tmp_path.name}"
    with pytest.raises(ValueError, match=msg):
        load_dcase(tmp_path)


def test_load_dcase_unknown_name(tmp_path):
    """Check that a .wav matching no scheme raises, naming it and the patterns."""
    _make_tree(tmp_path, [*DEV_2020, "fan/test/recording_final.wav"])
    with pytest.raises(
        ValueError, match=r"recording_final\.wav.*accepted patterns"
    ) as e:
        load_dcase(tmp_path)
    assert "section_XX_NNNN.wav" in str(e.value)
    assert "MIMII" in str(e.value)


@pytest.mark.parametrize(
    "relpath", ["loose.wav", "fan/loose.wav", "fan/train/extra/normal_id_00_0.wav"]
)
def test_load_dcase_misplaced_file(tmp_path, relpath):
    """Check that an audio file outside the expected depth raises."""
    _make_tree(tmp_path, [*DEV_2020, relpath])
    with pytest.raises(ValueError, match="is not where the layout expects it"):
        load_dcase(tmp_path)
