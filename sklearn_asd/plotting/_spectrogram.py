# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""SpectrogramDisplay: spectrograms side by side (private)."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from sklearn_asd.plotting._base import _display_doc, _DisplayMixin, _returns_doc

__all__ = ["SpectrogramDisplay"]


@_display_doc("setup")
class SpectrogramDisplay(_DisplayMixin):
    """Spectrograms side by side, e.g. before and after a median filter.

    Draws each spectrogram (mel bands x frames) as an image with a shared colour
    scale, so that what a filter removes is visible. :meth:`from_transformers`
    computes the "original / processed" pair of one clip with a fitted
    :class:`~sklearn_asd.features.LogMelSpectrogram` and a fitted spectrogram
    step such as :class:`~sklearn_asd.features.MedianFilter`.

    Parameters
    ----------
    spectrograms : list of ndarray of shape (n_mels, n_frames)
        Spectrograms to show, left to right.
    titles : list of str, default=None
        Title of each panel.
    sr : int, default=None
        Sample rate; with ``hop_length`` it puts the time axis in seconds
        (frames otherwise).
    hop_length : int, default=None
        Hop between frames, in samples.

    Attributes
    ----------
    images_ : list of matplotlib AxesImage
        One image per spectrogram; ``images_[i].get_array()`` is
        ``spectrograms[i]``.
    axes_ : ndarray of matplotlib Axes
        One Axes per spectrogram.
    colorbar_ : matplotlib Colorbar or None
        The shared colour bar, if drawn.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    sklearn_asd.features.MedianFilter : The seed's short-time noise filter.

    Examples
    --------
    {setup}
    >>> import numpy as np
    >>> from sklearn_asd.plotting import SpectrogramDisplay
    >>> S = np.zeros((4, 10))
    >>> S[1, 5] = 30.0  # a one-frame click
    >>> display = SpectrogramDisplay(
    ...     spectrograms=[S, np.zeros((4, 10))], titles=["click", "filtered"]
    ... ).plot()
    >>> len(display.images_), float(display.images_[0].get_array().max())
    (2, 30.0)
    >>> plt.close("all")
    """

    def __init__(self, *, spectrograms, titles=None, sr=None, hop_length=None):
        self.spectrograms = spectrograms
        self.titles = titles
        self.sr = sr
        self.hop_length = hop_length

    @_display_doc(returns=_returns_doc("SpectrogramDisplay", "with its artists stored"))
    def plot(self, ax=None, *, cmap="magma", colorbar=True, vmin=None, vmax=None):
        """Draw the spectrograms with a shared colour scale.

        Parameters
        ----------
        ax : array of matplotlib Axes, default=None
            One Axes per spectrogram; ``None`` creates a new figure.
        cmap : str or Colormap, default="magma"
            Colour map.
        colorbar : bool, default=True
            Draw one colour bar for all panels (in dB for log-mel input).
        vmin, vmax : float, default=None
            Colour limits; ``None`` uses the minimum / maximum over all
            spectrograms.

        {returns}
        """
        self._check_matplotlib("plot")
        if isinstance(self.spectrograms, np.ndarray) and self.spectrograms.ndim == 2:
            raise ValueError(
                "spectrograms must be a list of 2-D arrays; wrap a single "
                "spectrogram in a list"
            )
        specs = [
            check_array(S, dtype=np.float64, input_name="spectrogram")
            for S in self.spectrograms
        ]
        if not specs:
            raise ValueError("SpectrogramDisplay got no spectrogram")
        titles = self.titles
        if titles is not None and len(titles) != len(specs):
            raise ValueError(
                f"{len(titles)} titles for {len(specs)} spectrograms: give one "
                "title per spectrogram"
            )
        n = len(specs)
        if ax is None:
            fig, axes = self._new_axes(
                1,
                n,
                sharey=True,
                figsize=(4.0 * n + 1.0, 3.2),
                layout="constrained",
            )
            axes = axes[0]
        else:
            axes = self._check_axes(ax, n, "plot")
            fig = axes[0].figure
        lo = min(S.min() for S in specs) if vmin is None else vmin
        hi = max(S.max() for S in specs) if vmax is None else vmax
        self.images_ = []
        seconds = self.sr is not None and self.hop_length is not None
        for i, (panel, S) in enumerate(zip(axes, specs)):
            n_mels, n_frames = S.shape
            width = n_frames * self.hop_length / self.sr if seconds else n_frames
            image = panel.imshow(
                S,
                origin="lower",
                aspect="auto",
                interpolation="nearest",
                cmap=cmap,
                vmin=lo,
                vmax=hi,
                extent=(0, width, 0, n_mels),
            )
            self.images_.append(image)
            panel.set_xlabel("time (s)" if seconds else "frame")
            if i == 0:
                panel.set_ylabel("mel band")
            if titles is not None:
                panel.set_title(str(titles[i]))
        self.colorbar_ = (
            fig.colorbar(self.images_[-1], ax=list(axes), label="dB")
            if colorbar
            else None
        )
        self.axes_, self.figure_ = np.asarray(axes, dtype=object), fig
        return self

    @classmethod
    @_display_doc("setup", returns=_returns_doc("SpectrogramDisplay"))
    def from_transformers(
        cls,
        mel,
        median_filter,
        waveform,
        *,
        titles=("original", "processed"),
        ax=None,
        cmap="magma",
        colorbar=True,
    ):
        """Show one clip's log-mel spectrogram before and after a filter step.

        Parameters
        ----------
        mel : LogMelSpectrogram
            Fitted transformer from waveforms to flattened spectrograms; its
            ``n_mels_`` and ``n_frames_`` give the layout.
        median_filter : transformer or None
            Fitted spectrogram-to-spectrogram step applied to ``mel``'s output,
            e.g. :class:`~sklearn_asd.features.MedianFilter` (with the same
            ``n_mels``); ``None`` shows the original alone.
        waveform : array-like of shape (n_samples,) or (1, n_samples)
            One clip, as ``mel`` was fitted on.
        titles : tuple of str, default=("original", "processed")
            Panel titles.
        ax : array of matplotlib Axes, default=None
            One Axes per panel; ``None`` creates a new figure.
        cmap : str or Colormap, default="magma"
            Colour map.
        colorbar : bool, default=True
            Draw a shared colour bar.

        {returns}

        Examples
        --------
        {setup}
        >>> import numpy as np
        >>> from sklearn_asd.features import LogMelSpectrogram, MedianFilter
        >>> from sklearn_asd.plotting import SpectrogramDisplay
        >>> wave = np.random.default_rng(0).normal(size=(1, 4000)).astype("float32")
        >>> wave[0, 2000:2010] += 20.0  # a click
        >>> mel = LogMelSpectrogram(n_mels=16, n_fft=256, hop_length=128).fit(wave)
        >>> mf = MedianFilter(n_mels=16).fit(mel.transform(wave))
        >>> display = SpectrogramDisplay.from_transformers(mel, mf, wave)
        >>> [im.get_array().shape for im in display.images_]
        [(16, 32), (16, 32)]
        >>> plt.close("all")
        """
        cls._check_matplotlib("from_transformers")
        check_is_fitted(mel)
        n_mels = getattr(mel, "n_mels_", None)
        n_frames = getattr(mel, "n_frames_", None)
        if not isinstance(n_mels, Integral) or not isinstance(n_frames, Integral):
            raise TypeError(
                "mel must be a fitted transformer that records its output layout "
                f"in n_mels_ and n_frames_ (LogMelSpectrogram); got "
                f"{type(mel).__name__}"
            )
        if median_filter is not None:
            check_is_fitted(median_filter)
        wave = np.asarray(waveform)
        if wave.ndim == 1:
            wave = wave[None, :]
        if wave.ndim != 2 or wave.shape[0] != 1:
            raise ValueError(
                "waveform must be one clip, of shape (n_samples,) or (1, n_samples); "
                f"got shape {np.shape(waveform)}"
            )
        X = mel.transform(wave)
        specs = [np.asarray(X).reshape(n_mels, n_frames)]
        if median_filter is not None:
            X_out = np.asarray(median_filter.transform(X))
            if X_out.shape != X.shape:
                raise ValueError(
                    f"{type(median_filter).__name__} returned {X_out.shape[1]} "
                    f"features for a spectrogram of {X.shape[1]} ({n_mels} mel "
                    f"bands x {n_frames} frames): median_filter must return a "
                    "spectrogram of the same shape (e.g. MedianFilter)"
                )
            specs.append(X_out.reshape(n_mels, n_frames))
        titles = None if titles is None else list(titles)[: len(specs)]
        display = cls(
            spectrograms=specs,
            titles=titles,
            sr=getattr(mel, "sr", None),
            hop_length=getattr(mel, "hop_length", None),
        )
        return display.plot(ax, cmap=cmap, colorbar=colorbar)
