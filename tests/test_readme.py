import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # ~20 s: log-mel features of 180 4-s clips, then the detectors
@pytest.mark.usefixtures("one_torch_thread")
def test_readme_quickstart_runs(capsys):
    """Check the README's first two Python blocks run and print pAUCs."""
    import sklearn

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    namespace = {}
    try:
        exec(compile(blocks[0], "README quickstart", "exec"), namespace)
        first = float(capsys.readouterr().out.strip().splitlines()[-1])
        assert 0.5 < first <= 1.0
        exec(compile(blocks[1], "README pipeline", "exec"), namespace)
        second = float(capsys.readouterr().out.strip().splitlines()[-1])
        assert 0.0 <= second <= 1.0
    finally:
        sklearn.set_config(enable_metadata_routing=False)
