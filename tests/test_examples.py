"""Run every example script once (CI runs them here, not in the docs build)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
#: examples that train several detectors (seconds on one torch thread, 2 cores)
#: run with ``-m slow``; each of the others takes 1-3 s
SLOW_EXAMPLES = {
    "compare_detectors.py",  # 7-12 s
    "grid_search_pauc.py",  # 4 s
    "plot_roc_and_scores.py",  # 4 s
}

# torch on one thread: several threads on a busy 2-core machine are 5-20x slower
# (compare_detectors.py took 171 s with torch's default threads while other jobs
# ran, 7 s on one)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_EXAMPLES else p
        for p in EXAMPLES
    ],
    ids=[p.name for p in EXAMPLES],
)
def test_example_runs(path, monkeypatch, capsys):
    """Check the example runs to the end and prints something."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setattr(sys, "argv", [str(path)])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()


def test_import_does_not_load_torch_or_matplotlib():
    """Check `import sklearn_asd` and the lightweight modules stay torch-free."""
    import subprocess

    code = (
        "import sys, sklearn_asd, sklearn_asd.features, sklearn_asd.metrics, "
        "sklearn_asd.datasets, sklearn_asd.plotting, sklearn_asd.persistence, "
        "sklearn_asd.cli, sklearn_asd.export, sklearn_asd.streaming\n"
        "heavy = ('torch', 'skorch', 'matplotlib', 'onnx', 'onnxruntime', 'dask')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
