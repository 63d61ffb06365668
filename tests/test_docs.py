"""Documentation: docstring examples, the API reference, the guide, the site build."""

import doctest
import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import sklearn_asd

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
GUIDE_PAGES = sorted((DOCS / "guide").glob("*.rst"))

#: Submodules listed in ``sklearn_asd.__all__`` (features, datasets, metrics, ...).
SUBMODULES = [
    name
    for name in sklearn_asd.__all__
    if isinstance(getattr(sklearn_asd, name), types.ModuleType)
]
PUBLIC = [
    (module, name)
    for module in SUBMODULES
    for name in importlib.import_module(f"sklearn_asd.{module}").__all__
]

#: Top-level names defined in private modules (``sklearn_asd.KNNDetector`` lives in
#: ``sklearn_asd._knn``): documented as ``sklearn_asd.<name>``.
TOP_LEVEL = sorted(
    name for name, module in sklearn_asd._LAZY_NAMES.items() if module.startswith("_")
)

# A numpydoc section header: a title line, then a line of dashes as long.
_HEADER = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*)\n(?P<rule>-+)$", re.M)


def _numpydoc_section(docstring, title):
    """Return the text of a numpydoc section, or None when it is missing."""
    headers = [
        m for m in _HEADER.finditer(docstring) if len(m["rule"]) == len(m["title"])
    ]
    for i, match in enumerate(headers):
        if match["title"] == title:
            end = headers[i + 1].start() if i + 1 < len(headers) else len(docstring)
            return docstring[match.end() : end]
    return None


def _load_conf():
    """Import docs/conf.py as a module (its setup() is not called: no side effects)."""
    spec = importlib.util.spec_from_file_location(
        "_sklearn_asd_docs_conf", DOCS / "conf.py"
    )
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_numpydoc_section_parser():
    """Check the section parser on a docstring with and without Examples."""
    doc = (
        "Summary.\n\nParameters\n----------\nx : int\n    X.\n\n"
        "Examples\n--------\n>>> 1\n1\n"
    )
    assert _numpydoc_section(doc, "Examples").strip() == ">>> 1\n1"
    assert "x : int" in _numpydoc_section(doc, "Parameters")
    assert _numpydoc_section("Summary.\n\nNotes\n-----\nText.\n", "Examples") is None
    # a rule of the wrong length is not a header
    assert _numpydoc_section("Summary.\n\nExamples\n---\n>>> 1\n", "Examples") is None


@pytest.mark.parametrize(
    ("module", "name"),
    PUBLIC + [(sklearn_asd._LAZY_NAMES[n], n) for n in TOP_LEVEL],
    ids=[f"{m}.{n}" for m, n in PUBLIC] + TOP_LEVEL,
)
def test_public_name_has_doctested_examples(module, name):
    """Check every public name has a numpydoc Examples section with a >>> line."""
    mod = importlib.import_module(f"sklearn_asd.{module}")
    obj = getattr(mod, name)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        # an instance (the scorers): documented by its class, which must be
        # public in the same module
        cls = type(obj)
        assert cls.__name__ in mod.__all__, (
            f"{module}.{name} is an instance of {cls.__name__}, which is not in "
            f"sklearn_asd.{module}.__all__"
        )
        obj = cls
    docstring = inspect.getdoc(obj)
    assert docstring, f"sklearn_asd.{module}.{name} has no docstring"
    examples = _numpydoc_section(docstring, "Examples")
    assert examples is not None, f"sklearn_asd.{module}.{name} has no Examples section"
    assert any(line.lstrip().startswith(">>> ") for line in examples.splitlines()), (
        f"the Examples section of sklearn_asd.{module}.{name} has no >>> line"
    )


def _api_reference():
    """Names listed in docs/api.rst autosummary blocks, by current module."""
    listed = set()
    module = None
    in_block = False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::", 1)[1].strip()
            in_block = False
        elif line.startswith(".. autosummary::"):
            in_block = True
        elif in_block and line.startswith("   ") and not line.strip().startswith(":"):
            listed.add(f"{module}.{line.strip()}")
        elif in_block and line.strip() and not line.startswith(" "):
            in_block = False
    return listed


def test_api_reference_lists_every_public_name():
    """Check docs/api.rst lists exactly the public names of every submodule."""
    listed = _api_reference()
    public = {f"sklearn_asd.{module}.{name}" for module, name in PUBLIC}
    public |= {f"sklearn_asd.{name}" for name in TOP_LEVEL}
    assert sorted(public - listed) == [], "public names missing from docs/api.rst"
    assert sorted(listed - public) == [], "docs/api.rst lists names that are not public"


def test_top_level_names_are_public_in_their_submodule():
    """Check every lazily exported top-level name is in its submodule's __all__."""
    for name in sklearn_asd._LAZY_NAMES:
        obj = getattr(sklearn_asd, name)
        module = sklearn_asd._LAZY_NAMES[name]
        assert name in importlib.import_module(f"sklearn_asd.{module}").__all__
        assert getattr(importlib.import_module(f"sklearn_asd.{module}"), name) is obj


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=[p.name for p in GUIDE_PAGES])
def test_guide_page_doctests(page, capsys):
    """Check the >>> examples of the user-guide pages run and print what they say."""
    import sklearn

    try:
        result = doctest.testfile(
            str(page),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            raise_on_error=False,
        )
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    report = capsys.readouterr().out
    assert result.failed == 0, report
    has_examples = ">>> " in page.read_text()
    assert (result.attempted > 0) == has_examples


def test_gallery_shows_every_example():
    """Check sphinx-gallery picks every example up and runs exactly plot_*.py."""
    conf = _load_conf()
    gallery = conf.sphinx_gallery_conf
    assert EXAMPLES
    for path in EXAMPLES:
        # sphinx-gallery matches the patterns against the full path
        staged = str(path)
        assert not re.search(gallery["ignore_pattern"], staged), path.name
        executed = re.search(gallery["filename_pattern"], staged) is not None
        assert executed == path.name.startswith("plot_"), path.name


@pytest.mark.slow  # a full sphinx build: ~60 s
def test_docs_build_without_warnings(tmp_path):
    """Check the site builds with -W (no warnings) without executing examples."""
    for module in (
        "sphinx",
        "numpydoc",
        "sphinx_gallery",
        "pydata_sphinx_theme",
        "sphinx_copybutton",
        "myst_parser",
    ):
        pytest.importorskip(
            module,
            reason=f"{module} is not installed: pip install -e '.[docs]'",
        )
    docs = tmp_path / "docs"
    shutil.copytree(
        DOCS,
        docs,
        ignore=shutil.ignore_patterns("_build", "generated", "auto_examples"),
    )
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    out = tmp_path / "html"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(docs),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    # every public name got its API page, every example its gallery page
    for module, name in PUBLIC:
        assert (out / "generated" / f"sklearn_asd.{module}.{name}.html").is_file()
    for name in TOP_LEVEL:
        assert (out / "generated" / f"sklearn_asd.{name}.html").is_file()
    for path in EXAMPLES:
        assert (out / "auto_examples" / f"{path.stem}.html").is_file(), path.name
    for page in ("index", "install", "api", "benchmark_results", "results"):
        assert (out / f"{page}.html").is_file()
    # the command-line help pages come from the real parser
    cli = (out / "guide" / "cli.html").read_text()
    assert "usage: sklearn-asd train" in cli and "--machine-type NAME" in cli
