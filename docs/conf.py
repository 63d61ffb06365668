# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration of the sklearn-asd documentation.

Build the site (runs the ``plot_*.py`` examples for their figures)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Check for warnings without running any example (fast)::

    python -m sphinx -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html

Generated sources (autosummary pages and the command-line help texts in
``generated/``, the gallery in ``auto_examples/``) are written into this folder;
the copy of ``examples/`` that sphinx-gallery reads is staged in ``_build/``.
"""

import contextlib
import io
import os
from pathlib import Path

import sklearn_asd

DOCS = Path(__file__).resolve().parent
EXAMPLES = DOCS.parent / "examples"

# -- project ---------------------------------------------------------------------
project = "sklearn-asd"
author = "The sklearn_asd developers"
copyright = "The sklearn_asd developers, BSD-3-Clause"
version = release = sklearn_asd.__version__

# -- general ---------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
]
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc --------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# Methods are documented by ``:members:`` in the class template; numpydoc's own
# method tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- MyST (the Markdown pages: benchmarks, results, ablation, ...) ---------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# -- sphinx-gallery ----------------------------------------------------------------
#: Scripts executed for their figures; every other example is shown, not run.
GALLERY_FILENAME_PATTERN = r"/plot_"

sphinx_gallery_conf = {
    "examples_dirs": os.path.relpath(EXAMPLES, DOCS),
    "gallery_dirs": "auto_examples",
    "filename_pattern": GALLERY_FILENAME_PATTERN,
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklearn_asd",),
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": False,
    "promote_jupyter_magic": False,
    "first_notebook_cell": None,
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-asd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False
html_context = {"default_mode": "light"}

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


# -- command-line help, written at build time from the real parser -----------------
CLI_COMMANDS = (
    "",
    "demo",
    "train",
    "score",
    "evaluate",
    "export",
    "fetch",
    "ablation",
)


def _write_cli_help():
    """Write ``sklearn-asd [COMMAND] --help`` to generated/cli/*.txt."""
    from sklearn_asd.cli import main

    out_dir = DOCS / "generated" / "cli"
    out_dir.mkdir(parents=True, exist_ok=True)
    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        for command in CLI_COMMANDS:
            argv = [command, "--help"] if command else ["--help"]
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
                main(argv)
            text = buffer.getvalue()
            if not text.startswith("usage: sklearn-asd"):
                raise RuntimeError(f"unexpected help text for {argv}: {text!r}")
            path = out_dir / f"{command or 'main'}.txt"
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
    finally:
        if old_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old_columns


# -- references that scikit-learn's inherited docstrings and lazy names use --------
#: ``:ref:`` labels of scikit-learn's docs found in inherited docstrings
#: (``get_metadata_routing``, ``set_*_request``, ``set_output``).
SKLEARN_DOCS = "https://scikit-learn.org/stable/"
SKLEARN_REFS = {
    "metadata_routing": ("metadata_routing.html", "Metadata Routing"),
    "df_output_transform": (
        "modules/compose.html#df-output-transform",
        "set_output API",
    ),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html",
        "Introducing the set_output API",
    ),
}


def _lazy_target(target):
    """``sklearn_asd.Name`` -> ``sklearn_asd.<submodule>.Name`` (PEP 562 names)."""
    parts = target.split(".")
    if len(parts) == 2 and parts[0] == "sklearn_asd":
        module = sklearn_asd._LAZY_NAMES.get(parts[1])
        if module is not None:
            return f"sklearn_asd.{module}.{parts[1]}"
    return None


def _missing_reference(app, env, node, contnode):
    domain, reftype = node.get("refdomain"), node.get("reftype")
    target = node.get("reftarget", "")
    if domain == "py":
        # ``sklearn_asd.ContrastiveASDEstimator`` is documented where it is
        # defined, ``sklearn_asd.estimator.ContrastiveASDEstimator``.
        real = _lazy_target(target)
        if real is None:
            return None
        py = env.get_domain("py")
        return py.resolve_xref(
            env, node["refdoc"], app.builder, reftype, real, node, contnode
        )
    if domain != "std" or reftype not in ("ref", "term"):
        return None
    # Unresolved labels and glossary terms of scikit-learn docstrings link to
    # scikit-learn's documentation, where they are defined.
    from docutils import nodes

    if reftype == "term":
        anchor = "term-" + "-".join(target.lower().split())
        uri = f"{SKLEARN_DOCS}glossary.html#{anchor}"
    elif target in SKLEARN_REFS:
        path, title = SKLEARN_REFS[target]
        uri = SKLEARN_DOCS + path
        if not node.get("refexplicit"):  # the label itself is no title
            contnode = nodes.inline(title, title)
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=uri)
    reference += contnode
    return reference


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what torch modules inherit from ``torch.nn.Module``."""
    module = getattr(obj, "__module__", None) or ""
    if module == "torch" or module.startswith("torch."):
        return True
    return None


def setup(app):
    # importing conf.py (as tests/test_docs.py does) writes nothing
    _write_cli_help()
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-skip-member", _skip_member)
