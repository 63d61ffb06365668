# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared docstring parts (private), as imbalanced-learn's ``Substitution``.

Write a parameter description once, as a module-level string (flush left),
and put a ``{X}`` line (any name) where it belongs in each docstring, then
decorate the function or class with ``@_substitute(X=_X_DOC)``.

Only the names given are replaced (other braces in the docstring stay as they
are), and each value, written flush left, is indented to its placeholder line.
"""

import re
import textwrap

__all__ = []

#: ``y`` of transformers' ``fit``.
_Y_IGNORED_DOC = """y : Ignored
    Not used, present for API consistency."""


def _substitute(**parts):
    """Return a decorator that fills ``{name}`` lines of a docstring with ``parts``."""

    def decorate(obj):
        doc = obj.__doc__
        if doc is None:  # python -OO strips docstrings
            return obj
        for name, text in parts.items():
            pattern = re.compile(r"^([ \t]*)\{" + re.escape(name) + r"\}[ \t]*$", re.M)
            if not pattern.search(doc):
                raise ValueError(
                    f"{getattr(obj, '__qualname__', obj)!r} has no {{{name}}} line "
                    "in its docstring"
                )

            def indent(match, text=text):
                lines = textwrap.dedent(text.strip("\n")).splitlines()
                pad = match.group(1)
                return "\n".join(pad + line if line.strip() else "" for line in lines)

            doc = pattern.sub(indent, doc)
        obj.__doc__ = doc
        return obj

    return decorate
