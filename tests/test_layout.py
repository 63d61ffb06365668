"""The package's layout rules: private boundaries, module sizes, light imports."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_asd"
#: No module of the package may outgrow this many lines.
MAX_LINES = 900


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts)


def _is_public(module):
    """A public module: no ``_`` part below ``sklearn_asd``, not ``utils``."""
    parts = module.split(".")
    return (
        parts[0] == "sklearn_asd"
        and "utils" not in parts
        and not any(p.startswith("_") for p in parts[1:])
    )


def _imported(path, module, node):
    """Absolute module name of an ``ImportFrom`` node."""
    if not node.level:
        return node.module
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_private_name_is_imported_from_a_public_sibling():
    """Shared private helpers live in ``sklearn_asd.utils`` or private modules."""
    offences = []
    for path, module in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _imported(path, module, node)
            if source is None or source == module or not _is_public(source):
                continue
            private = [
                a.name
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
            if private:
                offences.append(f"{path.name}:{node.lineno} {source} {private}")
    assert not offences, offences


def test_boundary_rule_sees_an_offence(tmp_path):
    """The check above flags ``from sklearn_asd.metrics import _x`` (not a no-op)."""
    code = "from sklearn_asd.metrics import _x\nfrom sklearn_asd.utils._a import _y\n"
    nodes = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.ImportFrom)]
    flagged = [
        n.module
        for n in nodes
        if _is_public(_imported(tmp_path / "m.py", "sklearn_asd.m", n))
    ]
    assert flagged == ["sklearn_asd.metrics"]


@pytest.mark.parametrize(
    "name",
    ["_check_positive_int", "_AUDIO_SUFFIXES", "_check_labels"],
)
def test_one_definition(name):
    """Helpers that were written twice now have one home."""
    homes = []
    for path, _ in _modules():
        for node in ast.parse(path.read_text()).body:
            targets = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if name in targets:
                homes.append(path.relative_to(PACKAGE).as_posix())
    assert len(homes) <= 1, homes


def test_no_module_outgrows_the_limit():
    long = {
        path.relative_to(PACKAGE).as_posix(): n
        for path, _ in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def _module_level_imports(path, module, known):
    """Package modules imported when ``module`` is imported (not in functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, (ast.If, ast.Try)):  # guarded imports run too
            nodes = list(ast.walk(node))
        for n in nodes:
            if isinstance(n, ast.Import):
                found.update(a.name for a in n.names if a.name in known)
            elif isinstance(n, ast.ImportFrom):
                source = _imported(path, module, n)
                for a in n.names:
                    if f"{source}.{a.name}" in known:
                        found.add(f"{source}.{a.name}")
                    elif source in known:
                        found.add(source)
    found.discard(module)
    return found


def test_no_import_cycles():
    modules = {m: p for p, m in _modules()}
    graph = {m: _module_level_imports(p, m, modules) for m, p in modules.items()}
    cycles = []

    def visit(m, stack, done):
        if m in stack:
            cycles.append([*stack[stack.index(m) :], m])
            return
        if m in done:
            return
        for n in sorted(graph[m]):
            # a package imports its own submodules; they may use one another
            if not n.startswith(m + "."):
                visit(n, [*stack, m], done)
        done.add(m)

    done = set()
    for m in sorted(graph):
        visit(m, [], done)
    assert not cycles, cycles[:5]


def test_import_is_light():
    """``import sklearn_asd`` (and the CLI's entry point) load no torch."""
    code = (
        "import sys\n"
        "import sklearn_asd, sklearn_asd.cli\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'skorch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
