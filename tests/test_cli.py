import pytest

from sklearn_asd.cli import main


def test_demo_prints_results(capsys):
    """Check the demo runs end to end and prints the report and the summary."""
    status = main(
        [
            "demo",
            "--n-train",
            "9",
            "--n-test",
            "8",
            "--duration",
            "2",
            "--n-sections",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "Generating 9 normal training clips" in out
    assert "harmonic mean" in out
    lines = [
        line
        for line in out.splitlines()
        if line.startswith(("contrastive, ", "IsolationForest"))
    ]
    # seed CNN score, AE-branch score and IsolationForest, without and with MF
    assert len(lines) == 6
    # AUC, pAUC, official score and four per-kind AUCs, all in [0, 1]
    for line in lines:
        values = [float(v) for v in line.split()[-7:]]
        assert all(0.0 <= v <= 1.0 for v in values)


def test_demo_quiet_prints_only_results(capsys):
    """Check --quiet drops the progress lines."""
    main(["demo", "--n-train", "3", "--n-test", "4", "--duration", "1", "--quiet"])
    out = capsys.readouterr().out
    assert "Generating" not in out and "Fitting" not in out
    assert "Summary" in out


def test_demo_bad_value_exits_2_without_traceback(capsys):
    """Check a bad option value returns 2 with a one-line message."""
    assert main(["demo", "--severity", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == "sklearn-asd demo: error: --severity must be in [0, 1], got 3.0"
    )


@pytest.mark.parametrize(
    "argv", [[], ["train"], ["demo", "--n-train", "0"], ["demo", "--bogus"]]
)
def test_usage_errors_exit_2(argv, capsys):
    """Check argparse usage errors exit with status 2 and a usage line."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: sklearn-asd" in capsys.readouterr().err
