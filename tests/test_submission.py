"""DCASE submission files (sklearn_asd.submission) and one-class metric groups."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd.metrics import official_score, section_report
from sklearn_asd.submission import (
    YEARS,
    clip_name,
    detect_naming,
    naming_of_year,
    official_score_year,
    read_result_file,
    result_file_name,
    result_files,
    write_result_file,
)

#: year -> (name of fan section 00, source domain; its official-score year)
NAMES = {
    2020: ("anomaly_score_fan_id_00.csv", 2021),
    2021: ("anomaly_score_fan_section_00_source_test.csv", 2021),
    2022: ("anomaly_score_fan_section_00_test.csv", 2022),
    2023: ("anomaly_score_fan_section_00_test.csv", 2023),
    2024: ("anomaly_score_fan_section_00_test.csv", 2024),
    2025: ("anomaly_score_fan_section_00_test.csv", 2025),
}


@pytest.mark.parametrize("year", YEARS)
def test_result_file_name_of_every_year(year):
    """Check each year's name, by year and by naming scheme, for both kinds."""
    name, score_year = NAMES[year]
    by_year = result_file_name("fan", "00", naming=year, domain="source")
    by_naming = result_file_name(
        "fan", "00", naming=naming_of_year(year), domain="source"
    )
    assert by_year == by_naming == name
    decision = result_file_name(
        "fan", "00", naming=year, domain="source", kind="decision_result"
    )
    assert decision == "decision_result" + name[len("anomaly_score") :]
    assert official_score_year(year) == score_year


def test_result_file_name_mimii_and_other_splits():
    """Check MIMII names (no official format) and splits other than test."""
    assert result_file_name("fan", naming="mimii") == "anomaly_score_fan.csv"
    assert result_file_name("fan", "unknown", naming="mimii", split="unknown") == (
        "anomaly_score_fan.csv"
    )
    assert result_file_name("fan", "02", naming="mimii") == (
        "anomaly_score_fan_section_02.csv"
    )
    assert result_file_name("fan", "00", naming=2020, split="train") == (
        "anomaly_score_fan_id_00_train.csv"
    )
    assert result_file_name("fan", "00", naming=2022, split="train") == (
        "anomaly_score_fan_section_00_train.csv"
    )


def test_naming_and_official_score_year():
    """Check the naming -> formula map and the detection of one naming."""
    assert [naming_of_year(y) for y in YEARS] == [
        "dcase2020",
        "dcase2021",
        *["dcase2022"] * 4,
    ]
    assert official_score_year("mimii") == official_score_year("dcase2020") == 2021
    assert official_score_year("dcase2022") == 2022
    assert detect_naming(np.array(["dcase2021"] * 3)) == "dcase2021"
    with pytest.raises(ValueError, match="several naming schemes"):
        detect_naming(["dcase2021", "dcase2022"])
    with pytest.raises(ValueError, match="one clip or more"):
        detect_naming([])


@pytest.mark.parametrize(
    "call",
    [
        lambda: naming_of_year(2019),
        lambda: official_score_year("dcase2019"),
        lambda: result_file_name("fan", "00", naming=2026),
        lambda: result_file_name("fan", "00", naming=2022, kind="scores"),
        lambda: result_files({}, kind="scores"),
    ],
)
def test_bad_year_or_kind(call):
    """Check unknown years, namings and kinds are parameter errors."""
    with pytest.raises(InvalidParameterError):
        call()


def test_2021_names_need_a_domain():
    with pytest.raises(ValueError, match="DCASE 2021 result files name the domain"):
        result_file_name("fan", "00", naming=2021, domain="unknown")


def test_result_files_groups_clips_and_clip_names():
    """Check every clip lands in its file, and MIMII names keep their folder."""
    data = Bunch(
        filenames=np.array(
            [
                "r/fan/test/section_00_source_test_normal_0000.wav",
                "r/fan/test/section_00_target_test_anomaly_0000.wav",
                "r/pump/test/section_01_source_test_normal_0000.wav",
                "r/valve/normal/00000000.wav",
                "r/valve/abnormal/00000000.wav",
            ]
        ),
        machine_types=np.array(["fan", "fan", "pump", "valve", "valve"]),
        sections=np.array(["00", "00", "01", "unknown", "unknown"]),
        domains=np.array(["source", "target", "source", "unknown", "unknown"]),
        splits=np.array(["test", "test", "test", "unknown", "unknown"]),
        naming=np.array(["dcase2022"] * 3 + ["mimii"] * 2),
    )
    files = result_files(data)
    assert files == {
        "anomaly_score_fan_section_00_test.csv": [0, 1],
        "anomaly_score_pump_section_01_test.csv": [2],
        "anomaly_score_valve.csv": [3, 4],
    }
    assert result_files(data, indices=[2, 0], kind="decision_result") == {
        "decision_result_pump_section_01_test.csv": [2],
        "decision_result_fan_section_00_test.csv": [0],
    }
    names = [
        clip_name(data.filenames[i], data.naming[i])
        for i in files["anomaly_score_valve.csv"]
    ]
    assert names == ["normal/00000000.wav", "abnormal/00000000.wav"]
    assert clip_name(data.filenames[0], 2022) == (
        "section_00_source_test_normal_0000.wav"
    )


def test_write_read_round_trip(tmp_path):
    """Check scores and decisions survive a write and a read exactly."""
    names = [f"id_00_{i:08d}.wav" for i in range(5)]
    scores = np.array([0.1, -2.5, 1e-300, 3.75e12, 1 / 3])
    path = tmp_path / "anomaly_score_fan_id_00.csv"
    write_result_file(path, names, scores)
    assert read_result_file(path) == dict(zip(names, scores.tolist()))
    text = path.read_bytes()
    assert b"\r" not in text and text.count(b"\n") == 5
    decisions = tmp_path / "decision_result_fan_id_00.csv"
    write_result_file(decisions, names, np.array([0, 1, 0, 1, 1]))
    assert decisions.read_text().splitlines()[1] == "id_00_00000001.wav,1"
    assert list(read_result_file(decisions).values()) == [0, 1, 0, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, decisions.name]
    )


def test_write_refuses_bad_rows(tmp_path):
    path = tmp_path / "a.csv"
    with pytest.raises(ValueError, match="2 names but 1 values"):
        write_result_file(path, ["a.wav", "b.wav"], [1.0])
    with pytest.raises(ValueError, match=r"'a\.wav' more than once"):
        write_result_file(path, ["a.wav", "a.wav"], [1.0, 2.0])
    assert not path.exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a.wav\n", "line 1: expected 'file name,score'"),
        ("a.wav,1\nb.wav,high\n", "line 2: the score 'high' is not a number"),
        ("a.wav,nan\n", "line 1: the score is nan"),
        ("a.wav,1\n\na.wav,2\n", "line 3: 'a.wav' appears twice"),
    ],
)
def test_read_refuses_bad_rows(tmp_path, text, match):
    path = tmp_path / "anomaly_score_fan_id_00.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_result_file(path)


def test_read_wrong_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_result_file(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError):
        read_result_file(tmp_path)


# --------------------------------------------- metrics: undefined="raise"/"nan"
Y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8, 0.1, 0.2, 0.3, 0.4])
SECTIONS = np.array([0, 0, 0, 0, 1, 1, 2, 2])  # 1: normals only, 2: anomalies only


def test_undefined_nan_official_score_is_over_the_defined_groups():
    """Check NaN groups are named in warnings and left out of the harmonic mean."""
    with pytest.raises(ValueError, match="section 1 has 2 normal and 0 anomalous"):
        official_score(Y, S, sections=SECTIONS)
    with pytest.warns(UndefinedMetricWarning) as caught:
        value = official_score(Y, S, sections=SECTIONS, undefined="nan")
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("section 1 has 2 normal and 0 anomalous")
    assert messages[1].startswith("section 2 has 0 normal and 2 anomalous")
    defined = SECTIONS == 0
    assert value == official_score(Y[defined], S[defined], sections=SECTIONS[defined])
    # every group undefined: NaN
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(
            official_score(Y[4:], S[4:], sections=SECTIONS[4:], undefined="nan")
        )
    # the 2022 formula: a domain without normal clips
    domains = np.array(["source"] * 8)
    with pytest.warns(UndefinedMetricWarning, match=r"\(target-domain normals"):
        value = official_score(
            Y[:4],
            S[:4],
            sections=SECTIONS[:4],
            domains=domains[:4],
            year=2022,
            undefined="nan",
        )
    assert 0 < value <= 1


def test_undefined_nan_section_report():
    """Check NaN rows, means of the defined rows and n/a in the text."""
    with pytest.raises(ValueError, match="section 1"):
        section_report(Y, S, sections=SECTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        report = section_report(
            Y, S, sections=SECTIONS, undefined="nan", output_dict=True
        )
        text = section_report(Y, S, sections=SECTIONS, undefined="nan")
    assert report["section"] == [0, 1, 2, "arithmetic mean", "harmonic mean"]
    assert np.isnan(report["auc"][1]) and np.isnan(report["pauc"][2])
    assert report["auc"][3] == report["auc"][4] == report["auc"][0] == 0.75
    assert report["n_normal"][3] == 4 and report["n_anomalous"][3] == 4
    assert text.splitlines()[2].split()[-2:] == ["n/a", "n/a"]
    with pytest.raises(InvalidParameterError):
        section_report(Y, S, sections=SECTIONS, undefined="zero")
