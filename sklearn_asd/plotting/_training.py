# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""TrainingCurveDisplay: loss terms per epoch (private)."""

from collections.abc import Mapping
from numbers import Real

import numpy as np

from sklearn_asd.plotting._base import _DOCS, _display_doc, _DisplayMixin, _returns_doc

__all__ = ["TrainingCurveDisplay"]

_AX_LOGY_DOC = (
    _DOCS["ax"]
    + """\
logy : bool, default=False
    Logarithmic loss axis.
"""
)

#: The docstring parts from_history and from_estimator share.
_from_doc = _display_doc(
    "setup", ax_logy=_AX_LOGY_DOC, returns=_returns_doc("TrainingCurveDisplay")
)


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _default_loss_keys(rows):
    keys = []
    for row in rows:
        for key, value in row.items():
            if (
                key.startswith(("train_", "valid_"))
                and not key.endswith(("_best", "_batch_count"))
                and _is_number(value)
                and key not in keys
            ):
                keys.append(key)
    return keys


@_display_doc("setup")
class TrainingCurveDisplay(_DisplayMixin):
    """Loss terms per epoch of a trained neural detector.

    One line per recorded term: the total ``loss`` and, for
    :class:`~sklearn_asd.ContrastiveASDEstimator`, the unweighted
    cross-entropy ``ce``, reconstruction ``recon`` and contrastive ``con``
    terms; training terms solid, validation terms (``validation_fraction``)
    dashed in the same colour.

    Use :meth:`from_estimator` (or :meth:`from_history`) to build it.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
        Epoch numbers.
    losses : dict of str to array-like of shape (n_epochs,)
        Values per epoch of each history key (``NaN`` where an epoch did not
        record it).
    name : str, default=None
        Axes title.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        One line per history key.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    sklearn_asd.ContrastiveASDEstimator : Records these terms in ``history_``.

    Examples
    --------
    {setup}
    >>> from sklearn_asd.plotting import TrainingCurveDisplay
    >>> display = TrainingCurveDisplay(
    ...     epochs=[1, 2, 3], losses={"train_loss": [2.0, 1.5, 1.2]}).plot()
    >>> display.lines_["train_loss"].get_ydata().tolist()
    [2.0, 1.5, 1.2]
    >>> plt.close("all")
    """

    def __init__(self, *, epochs, losses, name=None):
        self.epochs = epochs
        self.losses = losses
        self.name = name

    @_display_doc(
        "ax", returns=_returns_doc("TrainingCurveDisplay", "with its artists stored")
    )
    def plot(self, ax=None, *, name=None, logy=False):
        """Draw one line per loss term.

        Parameters
        ----------
        {ax}
        name : str, default=None
            Axes title; ``None`` uses the ``name`` attribute.
        logy : bool, default=False
            Logarithmic loss axis (all plotted values must then be positive; the
            seed's contrastive term can be negative).

        {returns}
        """
        self._check_matplotlib("plot")
        epochs = np.asarray(self.epochs, dtype=np.float64).reshape(-1)
        if not isinstance(self.losses, Mapping) or not self.losses:
            raise ValueError(
                "losses must be a non-empty dict of history key -> values per epoch"
            )
        curves = {}
        for key, values in self.losses.items():
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.shape != epochs.shape:
                raise ValueError(
                    f"losses[{key!r}] has {values.size} values for {epochs.size} epochs"
                )
            curves[key] = values
        if logy:
            bad = [k for k, v in curves.items() if (v[np.isfinite(v)] <= 0).any()]
            if bad:
                raise ValueError(
                    f"logy=True needs positive losses, but {bad} hold values <= 0"
                )
        ax = self._one_axes(ax, "plot", figsize=(7.5, 4.2), layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        terms = []
        for key in curves:
            term = key.split("_", 1)[1] if key.startswith(("train_", "valid_")) else key
            if term not in terms:
                terms.append(term)
        self.lines_ = {}
        for key, values in curves.items():
            term = key.split("_", 1)[1] if key.startswith(("train_", "valid_")) else key
            (self.lines_[key],) = ax.plot(
                epochs,
                values,
                color=f"C{terms.index(term) % 10}",
                linestyle="--" if key.startswith("valid_") else "-",
                marker="o",
                markersize=3,
                label=key,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if logy:
            ax.set_yscale("log")
        name = self.name if name is None else name
        if name is not None:
            ax.set_title(str(name))
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
        return self

    @classmethod
    @_from_doc
    def from_history(cls, history, *, keys=None, name=None, ax=None, logy=False):
        """Plot loss terms from a skorch ``History`` (or a list of dicts).

        Parameters
        ----------
        history : skorch.callbacks.History or list of dict
            One dict per epoch.
        keys : list of str, default=None
            History keys to plot; ``None`` plots every numeric ``train_*`` and
            ``valid_*`` entry except the ``*_best`` flags and batch counts.
        name : str, default=None
            Axes title.
        {ax_logy}

        {returns}

        Examples
        --------
        {setup}
        >>> from sklearn_asd.plotting import TrainingCurveDisplay
        >>> history = [{"epoch": 1, "train_loss": 1.0, "train_loss_best": True},
        ...            {"epoch": 2, "train_loss": 0.5, "train_loss_best": True}]
        >>> sorted(TrainingCurveDisplay.from_history(history).lines_)
        ['train_loss']
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_history")
        if isinstance(history, (str, bytes, Mapping)) or not hasattr(
            history, "__iter__"
        ):
            raise TypeError(
                "history must be a skorch History or a list of one dict per "
                f"epoch, got {type(history).__name__}"
            )
        rows = list(history)
        if not rows:
            raise ValueError("the history is empty: no epoch was recorded")
        if not all(isinstance(row, Mapping) for row in rows):
            raise TypeError("every entry of history must be a dict (one per epoch)")
        available = _default_loss_keys(rows)
        if keys is None:
            keys = available
            if not keys:
                raise ValueError(
                    "the history records no train_* or valid_* loss; keys found: "
                    f"{sorted({k for row in rows for k in row})}"
                )
        else:
            if isinstance(keys, str):
                keys = [keys]
            keys = list(keys)
            recorded = {k for row in rows for k in row}
            missing = [k for k in keys if k not in recorded]
            if not keys or missing:
                raise ValueError(
                    f"history keys {missing or keys} not recorded; available loss "
                    f"keys: {available}"
                )
        losses = {}
        for key in keys:
            values = []
            for row in rows:
                value = row.get(key, np.nan)
                if not _is_number(value):
                    raise ValueError(
                        f"history key {key!r} holds non-numeric values such as "
                        f"{value!r}"
                    )
                values.append(float(value))
            losses[key] = np.array(values)
        epochs = np.array(
            [row.get("epoch", i + 1) for i, row in enumerate(rows)], dtype=np.float64
        )
        return cls(epochs=epochs, losses=losses, name=name).plot(ax, logy=logy)

    @classmethod
    @_from_doc
    def from_estimator(cls, estimator, *, keys=None, name=None, ax=None, logy=False):
        """Plot the loss terms of a fitted detector's ``history_``.

        Parameters
        ----------
        estimator : estimator or Pipeline
            Fitted :class:`~sklearn_asd.ContrastiveASDEstimator` or
            :class:`~sklearn_asd.AutoencoderBaseline` (anything with a
            ``history_``), or a fitted Pipeline ending with one.
        keys : list of str, default=None
            History keys to plot (see :meth:`from_history`).
        name : str, default=None
            Axes title; ``None`` uses the detector's class name.
        {ax_logy}

        {returns}

        Examples
        --------
        {setup}
        >>> import numpy as np
        >>> from sklearn_asd import AutoencoderBaseline
        >>> from sklearn_asd.plotting import TrainingCurveDisplay
        >>> X = np.random.default_rng(0).normal(size=(6, 4 * 10)).astype(np.float32)
        >>> det = AutoencoderBaseline(n_mels=4, max_epochs=3, random_state=0).fit(X)
        >>> display = TrainingCurveDisplay.from_estimator(det)
        >>> sorted(display.lines_), display.lines_["train_loss"].get_xdata().tolist()
        (['train_loss', 'train_recon'], [1.0, 2.0, 3.0])
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_estimator")
        _, detector = cls._split_estimator(estimator)
        history = getattr(detector, "history_", None)
        if history is None:
            raise ValueError(
                f"{type(detector).__name__} has no training history (history_): "
                "TrainingCurveDisplay needs a fitted neural detector such as "
                "ContrastiveASDEstimator or AutoencoderBaseline"
            )
        return cls.from_history(
            history,
            keys=keys,
            name=cls._estimator_name(detector, name),
            ax=ax,
            logy=logy,
        )
