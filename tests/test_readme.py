import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(capsys):
    """Check the README's first Python block runs and prints a pAUC in [0, 1]."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    exec(compile(blocks[0], "README quickstart", "exec"), {})
    value = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.5 < value <= 1.0
