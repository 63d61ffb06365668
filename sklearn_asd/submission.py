# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""DCASE Task 2 submission files: their names, their rows and each year's rules.

The official baselines write one pair of CSV files per machine type and
section (and, in 2021, domain): ``anomaly_score_<...>.csv`` with rows
``file name,score`` and ``decision_result_<...>.csv`` with rows ``file
name,0|1`` (1 = anomalous), no header. Their names follow the naming scheme of
the challenge year (the ``naming`` of :func:`~sklearn_asd.datasets.load_dcase`):

=============  ==========  =========================================================
naming         years       result file of machine ``fan``, section ``00``
=============  ==========  =========================================================
``dcase2020``  2020        ``anomaly_score_fan_id_00.csv``
``dcase2021``  2021        ``anomaly_score_fan_section_00_<source|target>_test.csv``
``dcase2022``  2022-2025   ``anomaly_score_fan_section_00_test.csv``
``mimii``      (none)      ``anomaly_score_fan.csv`` (MIMII has no official format)
=============  ==========  =========================================================

Module attributes ``YEARS`` (the challenge years, 2020-2025) and ``NAMINGS``
(the four naming schemes above) list the accepted values.

The ``sklearn-asd score`` and ``evaluate`` commands write and read these files
with the functions of this module.
"""

import csv
import math
import os
from numbers import Integral

from sklearn.utils._param_validation import Options, StrOptions, validate_params

__all__ = [
    "clip_name",
    "detect_naming",
    "naming_of_year",
    "official_score_year",
    "read_result_file",
    "result_file_name",
    "result_files",
    "write_result_file",
]

#: Years of the DCASE Task 2 naming schemes and official scores.
YEARS = (2020, 2021, 2022, 2023, 2024, 2025)
#: File naming schemes of :func:`~sklearn_asd.datasets.load_dcase`.
NAMINGS = ("dcase2020", "dcase2021", "dcase2022", "mimii")
#: Result files of these kinds exist (the score file and the decision file).
_KINDS = ("anomaly_score", "decision_result")
#: Official-score formula (year of its evaluator) of each naming scheme: the
#: 2021 evaluator also ranks DCASE 2020 and MIMII data (2020 averaged the AUCs).
_SCORE_YEAR_OF_NAMING = {
    "dcase2020": 2021,
    "dcase2021": 2021,
    "dcase2022": 2022,
    "mimii": 2021,
}
_NAMING = [StrOptions(set(NAMINGS)), Options(Integral, set(YEARS))]


def _naming(naming):
    """Return the naming scheme of a naming scheme or a challenge year."""
    return naming if isinstance(naming, str) else naming_of_year(naming)


@validate_params(
    {"year": [Options(Integral, set(YEARS))]}, prefer_skip_nested_validation=True
)
def naming_of_year(year):
    """Return the file naming scheme of a DCASE Task 2 challenge year.

    Parameters
    ----------
    year : {2020, 2021, 2022, 2023, 2024, 2025}
        Challenge year.

    Returns
    -------
    naming : str
        ``"dcase2020"``, ``"dcase2021"`` or ``"dcase2022"`` (2022 to 2025 share
        one naming), as :func:`~sklearn_asd.datasets.load_dcase` reports it in
        its ``naming`` field.

    See Also
    --------
    official_score_year : The official-score formula of a naming scheme.

    Examples
    --------
    >>> from sklearn_asd.submission import naming_of_year
    >>> naming_of_year(2020), naming_of_year(2021), naming_of_year(2024)
    ('dcase2020', 'dcase2021', 'dcase2022')
    """
    return "dcase2020" if year == 2020 else "dcase2021" if year == 2021 else "dcase2022"


@validate_params({"naming": _NAMING}, prefer_skip_nested_validation=True)
def official_score_year(naming):
    """Return the year of the official-score formula for a naming scheme or year.

    The DCASE 2021 evaluator is the formula of DCASE 2020 and MIMII data too
    (2020 ranked systems by their average AUC and pAUC, and MIMII has no
    official score); 2022 and later years use the 2022 formula (see
    :func:`~sklearn_asd.metrics.official_score`).

    Parameters
    ----------
    naming : {"dcase2020", "dcase2021", "dcase2022", "mimii"} or int
        Naming scheme of the clips, or a challenge year (2020-2025).

    Returns
    -------
    year : int
        2021 or a year from 2022 on: the ``year`` to pass to
        :func:`~sklearn_asd.metrics.official_score`.

    See Also
    --------
    detect_naming : The one naming scheme of a set of clips.

    Examples
    --------
    >>> from sklearn_asd.submission import official_score_year
    >>> official_score_year("dcase2020"), official_score_year("dcase2022")
    (2021, 2022)
    >>> official_score_year(2020), official_score_year(2023)
    (2021, 2023)
    """
    if isinstance(naming, str):
        return _SCORE_YEAR_OF_NAMING[naming]
    return max(int(naming), 2021)


@validate_params({"namings": ["array-like"]}, prefer_skip_nested_validation=True)
def detect_naming(namings):
    """Return the one naming scheme of a set of clips.

    Parameters
    ----------
    namings : array-like of str
        Naming scheme of every clip (the ``naming`` field of
        :func:`~sklearn_asd.datasets.load_dcase`).

    Returns
    -------
    naming : str
        The naming scheme shared by all the clips.

    Raises
    ------
    ValueError
        If there is no clip, or the clips follow several naming schemes (a
        tree that mixes years: choose the year of the result files instead).

    Examples
    --------
    >>> from sklearn_asd.submission import detect_naming, official_score_year
    >>> naming = detect_naming(["dcase2022", "dcase2022"])
    >>> naming, official_score_year(naming)
    ('dcase2022', 2022)
    """
    found = sorted({str(n) for n in namings})
    if not found:
        raise ValueError("detect_naming needs the naming scheme of one clip or more")
    if len(found) > 1:
        raise ValueError(
            f"the clips follow several naming schemes {found}: choose the result "
            "files' naming and the official-score formula by year"
        )
    return found[0]


@validate_params(
    {
        "machine_type": [str],
        "section": [str, None],
        "naming": _NAMING,
        "domain": [str, None],
        "split": [str],
        "kind": [StrOptions(set(_KINDS))],
    },
    prefer_skip_nested_validation=True,
)
def result_file_name(
    machine_type,
    section=None,
    *,
    naming,
    domain=None,
    split="test",
    kind="anomaly_score",
):
    """Return the name of a DCASE result file.

    The patterns follow the official baselines and evaluators: DCASE 2020
    ``anomaly_score_<machine>_id_<XX>.csv``, DCASE 2021
    ``anomaly_score_<machine>_section_<XX>_<source|target>_test.csv``, DCASE
    2022-2025 ``anomaly_score_<machine>_section_<XX>_test.csv``. MIMII trees
    have no official format: ``anomaly_score_<machine>.csv`` (with
    ``_section_<XX>`` when the clips have a section).

    Parameters
    ----------
    machine_type : str
        Machine type (``"fan"``, ``"ToyCar"`` ...).

    section : str, default=None
        Section (2020: machine ID) as written in the file names, e.g. ``"00"``;
        ``None`` or ``"unknown"``: none (MIMII only).

    naming : {"dcase2020", "dcase2021", "dcase2022", "mimii"} or int
        Naming scheme, or a challenge year (2020-2025).

    domain : str, default=None
        ``"source"`` or ``"target"``: required by the 2021 naming, ignored by
        the others.

    split : str, default="test"
        Split of the scored clips. Splits other than ``"test"`` (and
        ``"unknown"``, MIMII's) are added to the name (2021 and 2022 put the
        split there in any case).

    kind : {"anomaly_score", "decision_result"}, default="anomaly_score"
        The score file or the decision file.

    Returns
    -------
    name : str
        File name (no folder).

    Raises
    ------
    ValueError
        If a DCASE 2021 name lacks a ``"source"``/``"target"`` domain.

    See Also
    --------
    result_files : The result file of every clip of a dataset.

    Examples
    --------
    >>> from sklearn_asd.submission import result_file_name
    >>> result_file_name("fan", "00", naming=2020)
    'anomaly_score_fan_id_00.csv'
    >>> result_file_name("fan", "00", naming=2021, domain="target")
    'anomaly_score_fan_section_00_target_test.csv'
    >>> result_file_name("fan", "00", naming=2023, kind="decision_result")
    'decision_result_fan_section_00_test.csv'
    >>> result_file_name("fan", naming="mimii")
    'anomaly_score_fan.csv'
    """
    naming = _naming(naming)
    suffix = "" if split in ("test", "unknown") else f"_{split}"
    no_section = section in (None, "unknown")
    if naming == "dcase2020":
        return f"{kind}_{machine_type}_id_{section}{suffix}.csv"
    if naming == "dcase2021":
        if domain not in ("source", "target"):
            raise ValueError(
                f"DCASE 2021 result files name the domain, but the {machine_type} "
                f"section {section} files have domain {domain!r}: use another year"
            )
        return f"{kind}_{machine_type}_section_{section}_{domain}_{split}.csv"
    if naming == "dcase2022":
        return f"{kind}_{machine_type}_section_{section}_{split}.csv"
    if not no_section:
        return f"{kind}_{machine_type}_section_{section}{suffix}.csv"
    return f"{kind}_{machine_type}{suffix}.csv"


@validate_params(
    {
        "dataset": [dict],
        "indices": ["array-like", None],
        "naming": [*_NAMING, None],
        "kind": [StrOptions(set(_KINDS))],
    },
    prefer_skip_nested_validation=True,
)
def result_files(dataset, *, indices=None, naming=None, kind="anomaly_score"):
    """Map each result file of a dataset's clips to the clips it lists.

    Parameters
    ----------
    dataset : Bunch
        Clips as :func:`~sklearn_asd.datasets.load_dcase` lists them (its
        ``machine_types``, ``sections``, ``domains``, ``splits`` and ``naming``
        fields are used).

    indices : array-like of int, default=None
        Clips to place (``None``: all of them).

    naming : {"dcase2020", "dcase2021", "dcase2022", "mimii"} or int, default=None
        Naming scheme (or challenge year) of the result files; ``None``: each
        clip's own naming.

    kind : {"anomaly_score", "decision_result"}, default="anomaly_score"
        The score files or the decision files.

    Returns
    -------
    files : dict of str to list of int
        File name -> indices of its clips, in the order of ``indices``.

    See Also
    --------
    result_file_name : The name of one result file.
    clip_name : The name of a clip in a result file's rows.

    Examples
    --------
    >>> from sklearn.utils import Bunch
    >>> from sklearn_asd.submission import result_files
    >>> clips = Bunch(
    ...     machine_types=["fan", "fan", "fan"], sections=["00", "00", "01"],
    ...     domains=["source", "target", "source"], splits=["test"] * 3,
    ...     naming=["dcase2021"] * 3)
    >>> result_files(clips)
    {'anomaly_score_fan_section_00_source_test.csv': [0],
     'anomaly_score_fan_section_00_target_test.csv': [1],
     'anomaly_score_fan_section_01_source_test.csv': [2]}
    >>> result_files(clips, naming=2022, kind="decision_result")
    {'decision_result_fan_section_00_test.csv': [0, 1],
     'decision_result_fan_section_01_test.csv': [2]}
    """
    if indices is None:
        indices = range(len(dataset["machine_types"]))
    files = {}
    for i in indices:
        i = int(i)
        name = result_file_name(
            str(dataset["machine_types"][i]),
            str(dataset["sections"][i]),
            naming=naming if naming is not None else str(dataset["naming"][i]),
            domain=str(dataset["domains"][i]),
            split=str(dataset["splits"][i]),
            kind=kind,
        )
        files.setdefault(name, []).append(i)
    return files


@validate_params(
    {"path": [str, os.PathLike], "naming": _NAMING}, prefer_skip_nested_validation=True
)
def clip_name(path, naming):
    """Return the name of a clip in the rows of a result file.

    The official result files name a clip by its file name. MIMII trees repeat
    file names in their ``normal`` and ``abnormal`` folders, so there the label
    folder is kept: ``abnormal/00000000.wav``.

    Parameters
    ----------
    path : str or path-like
        Path of the clip.

    naming : {"dcase2020", "dcase2021", "dcase2022", "mimii"} or int
        Naming scheme of the clip (or a challenge year).

    Returns
    -------
    name : str
        The clip's name in the first column of a result file.

    Examples
    --------
    >>> from sklearn_asd.submission import clip_name
    >>> clip_name("dev/fan/test/section_00_test_normal_0000.wav", "dcase2022")
    'section_00_test_normal_0000.wav'
    >>> clip_name("mimii/fan/abnormal/00000000.wav", "mimii")
    'abnormal/00000000.wav'
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if _naming(naming) == "mimii":
        return f"{os.path.basename(os.path.dirname(path))}/{name}"
    return name


@validate_params(
    {"path": [str, os.PathLike], "names": ["array-like"], "values": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def write_result_file(path, names, values):
    """Write a result file atomically: rows ``name,value``, no header.

    The file appears complete or not at all (a temporary file in its folder,
    then :func:`os.replace`; see :func:`sklearn_asd.persistence.atomic_open`).
    Lines end in a newline (no carriage return), as the official baselines
    write them.

    Parameters
    ----------
    path : str or path-like
        File to write; its folder must exist.

    names : array-like of str
        Clip names (see :func:`clip_name`), each once.

    values : array-like of float or int
        Anomaly scores (higher = more anomalous), or decisions (1 =
        anomalous, 0 = normal), one per name.

    Raises
    ------
    ValueError
        If ``names`` and ``values`` differ in length or a name repeats.

    See Also
    --------
    read_result_file : Read such a file back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_asd.submission import read_result_file, write_result_file
    >>> path = os.path.join(tempfile.mkdtemp(), "anomaly_score_fan_id_00.csv")
    >>> write_result_file(path, ["id_00_00000000.wav", "id_00_00000001.wav"],
    ...                   [0.25, 3.5])
    >>> print(open(path).read(), end="")
    id_00_00000000.wav,0.25
    id_00_00000001.wav,3.5
    >>> read_result_file(path)
    {'id_00_00000000.wav': 0.25, 'id_00_00000001.wav': 3.5}
    """
    from sklearn_asd.utils._csv import _write_csv

    names = [str(n) for n in names]
    values = list(getattr(values, "tolist", lambda: values)())
    if len(names) != len(values):
        raise ValueError(
            f"write_result_file got {len(names)} names but {len(values)} values"
        )
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"{os.path.basename(os.fspath(path))} would list the file name "
            f"{twice[0]!r} more than once (several clips of one result file share "
            "a name)"
        )
    _write_csv(path, zip(names, values))


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def read_result_file(path):
    r"""Read the rows ``name,value`` of a result file.

    Parameters
    ----------
    path : str or path-like
        An anomaly-score or decision-result file. Blank lines are skipped;
        columns after the second are ignored.

    Returns
    -------
    values : dict of str to float
        Clip name -> score (or decision), in the file's order.

    Raises
    ------
    ValueError
        If a row has fewer than two columns, a value is not a finite number or
        a name appears twice (the message gives the line).

    See Also
    --------
    write_result_file : Write such a file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_asd.submission import read_result_file
    >>> path = os.path.join(tempfile.mkdtemp(), "anomaly_score_fan_id_00.csv")
    >>> _ = open(path, "w").writelines(["a.wav,0.5\n", "b.wav,1e3\n"])
    >>> read_result_file(path)
    {'a.wav': 0.5, 'b.wav': 1000.0}
    """
    path = os.fspath(path)
    values = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 2:
                raise ValueError(
                    f"{path!r} line {line_no}: expected 'file name,score', got "
                    f"{','.join(row)!r}"
                )
            name = row[0].strip()
            try:
                value = float(row[1])
            except ValueError:
                raise ValueError(
                    f"{path!r} line {line_no}: the score {row[1]!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise ValueError(f"{path!r} line {line_no}: the score is {row[1]}")
            if name in values:
                raise ValueError(f"{path!r} line {line_no}: {name!r} appears twice")
            values[name] = value
    return values
