# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Export a fitted detector's scoring graph to ONNX.

:func:`export_onnx` turns a fitted :class:`~sklearn_asd.ContrastiveASDEstimator`
(or a fitted Pipeline ending in one) into an ONNX model that computes the same
anomaly scores as ``anomaly_score(X, sections=...)``, so that a deployed
detector needs only an ONNX runtime: no Python, torch or librosa. File reading
(:class:`~sklearn_asd.features.AudioLoader`) stays outside the graph.

The graph is a torch module that reproduces the estimator's scoring step by
step (standardisation, patch extraction at ``score_hop``, the MobileNetV2
branch, the seed score ``logsumexp(z_{j != s}) - z_s`` averaged over patches,
or the autoencoder branch's reconstruction error), optionally preceded by the
log-mel front end and the median filter; it is exported with the default
(``torch.export``-based) exporter of ``torch.onnx.export``, which needs
``onnxscript``. Install the dependencies with ``pip install sklearn-asd[onnx]``.
"""

import copy
import functools
import json
import logging
import os
import sys
import warnings
from numbers import Integral

import numpy as np
from scipy.signal import get_window
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from sklearn_asd._contrastive import _FIT_EXAMPLE
from sklearn_asd._version import __version__
from sklearn_asd.estimator import ContrastiveASDEstimator
from sklearn_asd.features import AudioLoader, LogMelSpectrogram, MedianFilter
from sklearn_asd.utils._docstring import _substitute

__all__ = ["export_onnx"]

# The log-mel floor of LogMelSpectrogram (Python's float epsilon).
_LOG_EPS = sys.float_info.epsilon
# torch.onnx.export's torch.export-based exporter implements opset 18 and later
# (an older request silently gives an opset-18 model).
_MIN_OPSET = 18
# np.pad mode equivalent to each scipy.ndimage mode of MedianFilter
_SCIPY_TO_NUMPY_PAD = {
    "nearest": "edge",
    "reflect": "symmetric",
    "mirror": "reflect",
    "wrap": "wrap",
}
_SUPPORTED = (
    "a fitted ContrastiveASDEstimator, or a fitted Pipeline of [AudioLoader ->] "
    "[LogMelSpectrogram ->] [MedianFilter -> ...] ContrastiveASDEstimator"
)


def _import_onnx():
    """Import the export dependencies or say how to install them."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx.export's exporter needs it)
    except ImportError as exc:
        raise ImportError(
            f"export_onnx needs the packages onnx and onnxscript ({exc}); install "
            "them with: pip install sklearn-asd[onnx]"
        ) from exc
    return onnx


# ------------------------------------------------------------------ validation
def _unpack(estimator, include_frontend):
    """Return ``(log_mel, filters, detector)`` of a supported fitted estimator."""
    if isinstance(estimator, Pipeline):
        steps = [
            (name, step)
            for name, step in estimator.steps
            if step is not None
            and not (isinstance(step, str) and step == "passthrough")
        ]
    else:
        steps = [("estimator", estimator)]
    if not steps or not isinstance(steps[-1][1], ContrastiveASDEstimator):
        last = type(steps[-1][1]).__name__ if steps else "nothing"
        raise ValueError(
            f"export_onnx supports {_SUPPORTED}; got {type(estimator).__name__} "
            f"ending in {last}"
        )
    detector = steps[-1][1]
    check_is_fitted(detector)
    if detector._resolve_branch() == "cnn" and detector.score_method != "softmax":
        raise ValueError(
            f"export_onnx exports the seed's softmax score only; this detector "
            f"scores with score_method={detector.score_method!r} (the training "
            "embeddings it compares with are not part of the graph): "
            "set_params(score_method='softmax') before exporting, or score it "
            "in Python"
        )
    front = steps[:-1]
    if front and isinstance(front[0][1], AudioLoader):
        front = front[1:]  # file reading stays in Python
    log_mel = None
    if front and isinstance(front[0][1], LogMelSpectrogram):
        log_mel = front[0][1]
        front = front[1:]
    for name, step in front:
        if not isinstance(step, MedianFilter):
            raise ValueError(
                f"export_onnx cannot export the Pipeline step {name!r} "
                f"({type(step).__name__}) at this position: it supports {_SUPPORTED}"
            )
    filters = [step for _, step in front]
    for step in [log_mel, *filters]:
        if step is not None:
            check_is_fitted(step)
    if include_frontend and log_mel is None:
        raise ValueError(
            "include_frontend=True needs a Pipeline with a LogMelSpectrogram step "
            "(the front end to put in the graph); got "
            f"{type(estimator).__name__} without one"
        )
    n_mels = detector.n_mels
    n_frames = detector.n_features_in_ // n_mels
    if log_mel is not None:
        # frames of the in-graph STFT, from the current parameters
        n_padded = log_mel.n_features_in_
        if log_mel.center:
            n_padded += 2 * (log_mel.n_fft // 2)
        graph_frames = 1 + (n_padded - log_mel.n_fft) // log_mel.hop_length
        shapes = {
            (log_mel.n_mels_, log_mel.n_frames_),
            (log_mel.n_mels, graph_frames),
        }
        if shapes != {(n_mels, n_frames)}:
            raise ValueError(
                f"the LogMelSpectrogram gives {log_mel.n_mels_} x "
                f"{log_mel.n_frames_} spectrograms with its fitted shape and "
                f"{log_mel.n_mels} x {graph_frames} with its current parameters, "
                f"but the detector was fitted on {n_mels} x {n_frames}: refit "
                "the pipeline"
            )
    for step in filters:
        if (step.n_mels, step.n_frames_) != (n_mels, n_frames):
            raise ValueError(
                f"a MedianFilter expects {step.n_mels} x {step.n_frames_} "
                f"spectrograms but the detector was fitted on {n_mels} x "
                f"{n_frames}: refit the pipeline"
            )
    return log_mel, filters, detector


# ---------------------------------------------------------------- index tables
def _median_index(n_mels, n_frames, kernel_size, mode):
    """Flat indices ``(n_mels * n_frames, k_mel * k_frame)`` of every window."""
    pad_mode = _SCIPY_TO_NUMPY_PAD[mode]
    k_mel, k_frame = kernel_size
    mel = np.pad(np.arange(n_mels), (k_mel - 1) // 2, mode=pad_mode)
    frame = np.pad(np.arange(n_frames), (k_frame - 1) // 2, mode=pad_mode)
    mel_win = np.lib.stride_tricks.sliding_window_view(mel, k_mel)  # (M, k_mel)
    frame_win = np.lib.stride_tricks.sliding_window_view(frame, k_frame)  # (T, kf)
    index = (
        mel_win[:, None, :, None] * n_frames + frame_win[None, :, None, :]
    )  # (M, T, k_mel, k_frame)
    return index.reshape(n_mels * n_frames, k_mel * k_frame).astype(np.int64)


def _frontend_tables(log_mel, n_samples):
    """Return the padding index, windowed DFT basis and mel basis of a step."""
    import librosa

    n_fft = log_mel.n_fft
    index = np.arange(n_samples)
    if log_mel.center:
        pad = n_fft // 2
        if log_mel.pad_mode == "constant":
            # index n_samples points at a zero appended to the waveform
            index = np.pad(index, pad, mode="constant", constant_values=n_samples)
        else:
            index = np.pad(index, pad, mode=log_mel.pad_mode)
    n_bins = n_fft // 2 + 1
    window = get_window("hann", n_fft, fftbins=True)  # float64, as the transformer
    phase = (np.arange(n_bins)[:, None] * np.arange(n_fft)[None, :]) % n_fft
    angle = 2.0 * np.pi * phase / n_fft
    basis = np.concatenate([window * np.cos(angle), -window * np.sin(angle)])
    mel_basis = librosa.filters.mel(
        sr=log_mel.sr,
        n_fft=n_fft,
        n_mels=log_mel.n_mels,
        fmin=log_mel.fmin,
        fmax=log_mel.fmax,
        dtype=np.float32,
    )
    return (
        index.astype(np.int64),
        basis[:, None, :].astype(np.float32),
        mel_basis.astype(np.float32),
    )


# --------------------------------------------------------------- torch modules
@functools.cache
def _modules():
    """Build the torch modules of the graph (torch is imported only here).

    The scoring step is the detectors' own torch scorer
    (:class:`~sklearn_asd.models._scoring._ClipScorer`).
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    from sklearn_asd.models._scoring import _ClipScorer

    class LogMelFrontEnd(nn.Module):
        """Waveforms ``(B, n_samples)`` -> log-mel ``(B, n_mels, n_frames)``."""

        def __init__(self, index, basis, mel_basis, *, hop_length, power, pad_zero):
            super().__init__()
            self.register_buffer("index", torch.from_numpy(index))
            self.register_buffer("basis", torch.from_numpy(basis))
            self.register_buffer("mel_basis", torch.from_numpy(mel_basis))
            self.hop_length = int(hop_length)
            self.power = float(power)
            self.pad_zero = bool(pad_zero)
            self.n_bins = mel_basis.shape[1]

        def forward(self, y):
            if self.pad_zero:
                y = F.pad(y, (0, 1))
            y = torch.index_select(y, 1, self.index)  # centre padding
            spec = F.conv1d(y[:, None, :], self.basis, stride=self.hop_length)
            real, imag = spec[:, : self.n_bins], spec[:, self.n_bins :]
            S = real * real + imag * imag  # |STFT|^2, (B, n_bins, n_frames)
            if self.power != 2.0:
                S = S ** (self.power / 2.0)
            mel = torch.matmul(self.mel_basis, S)
            return torch.log10(torch.clamp(mel, min=_LOG_EPS)) * (20.0 / self.power)

    class MedianFilter2d(nn.Module):
        """Median over each (band x frame) window, borders from an index table."""

        def __init__(self, index):
            super().__init__()
            self.register_buffer("index", torch.from_numpy(index))
            self.rank = (index.shape[1] + 1) // 2

        def forward(self, S):
            flat = S.reshape(S.shape[0], -1)
            windows = flat[:, self.index]  # (B, n_mels * n_frames, k)
            smallest = torch.topk(windows, self.rank, dim=-1, largest=False).values
            return smallest[..., -1].reshape(S.shape)

    class ScoringGraph(nn.Module):
        """The exported graph: input and section index -> score, section scores."""

        def __init__(
            self, frontend, filters, scorer, *, mean, std, auxiliary, n_mels, n_frames
        ):
            super().__init__()
            self.frontend = frontend
            self.filters = nn.ModuleList(filters)
            self.scorer = scorer
            self.mean = float(mean)
            self.std = float(std)
            self.register_buffer(
                "auxiliary",
                torch.from_numpy(np.where(auxiliary, np.inf, 0.0).astype(np.float32)),
            )
            self.n_mels = int(n_mels)
            self.n_frames = int(n_frames)

        def forward(self, x, section):
            if self.frontend is None:
                S = x.reshape(-1, self.n_mels, self.n_frames)
            else:
                S = self.frontend(x)
            for step in self.filters:
                S = step(S)
            scores = self.scorer((S - self.mean) / self.std)  # (B, n_sections)
            # best-matching among the scored sections (auxiliary ones: +inf)
            best = (scores + self.auxiliary).min(dim=1).values
            own = torch.gather(scores, 1, section.clamp(min=0)[:, None])[:, 0]
            return torch.where(section < 0, best, own), scores

    return LogMelFrontEnd, MedianFilter2d, _ClipScorer, ScoringGraph


def _scoring_graph(log_mel, filters, detector, include_frontend):
    """Build the torch module that reproduces the fitted estimator's scores."""
    LogMelFrontEnd, MedianFilter2d, _, ScoringGraph = _modules()
    n_mels = detector.n_mels
    n_frames = detector.n_features_in_ // n_mels
    branch = detector._resolve_branch()
    scorer = copy.deepcopy(detector._clip_scorer(branch)).to("cpu").eval()
    frontend, exported_filters = None, []
    if include_frontend:
        n_samples = log_mel.n_features_in_
        index, basis, mel_basis = _frontend_tables(log_mel, n_samples)
        frontend = LogMelFrontEnd(
            index,
            basis,
            mel_basis,
            hop_length=log_mel.hop_length,
            power=log_mel.power,
            pad_zero=log_mel.center and log_mel.pad_mode == "constant",
        )
    for step in filters:
        kernel = step._kernel()
        if kernel != (1, 1):
            exported_filters.append(
                MedianFilter2d(_median_index(n_mels, n_frames, kernel, step.mode))
            )
    graph = ScoringGraph(
        frontend,
        exported_filters,
        scorer,
        mean=detector.feature_mean_,
        std=detector.feature_std_,
        auxiliary=np.isin(
            np.arange(len(detector.classes_)), detector._scored_indices(), invert=True
        ),
        n_mels=n_mels,
        n_frames=n_frames,
    )
    return graph.eval(), branch, scorer.mode


# ------------------------------------------------------------------- metadata
def _json_label(label):
    """Return a section label as a JSON value (numpy scalars unwrapped)."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, (str, int, float, bool)) or label is None:
        return label
    return str(label)


def _metadata(log_mel, filters, detector, include_frontend, branch, mode):
    meta = {
        "sklearn_asd_version": __version__,
        "input": "waveform" if include_frontend else "log_mel",
        "sections": json.dumps([_json_label(c) for c in detector.classes_.tolist()]),
        "auxiliary_sections": json.dumps(
            [_json_label(c) for c in getattr(detector, "auxiliary_classes_", [])]
        ),
        "n_mels": str(detector.n_mels),
        "n_frames": str(detector.n_features_in_ // detector.n_mels),
        "score_sign": "higher_is_more_anomalous",
        "threshold": repr(float(-detector.offset_)),
        "score_branch": branch,
        "score_mode": mode,
        "median_filters": json.dumps(
            [[*step._kernel(), step.mode] for step in filters]
        ),
    }
    if include_frontend:
        meta.update(
            {
                "sr": str(log_mel.sr),
                "n_samples": str(log_mel.n_features_in_),
                "log_mel": json.dumps(
                    {
                        key: log_mel.get_params()[key]
                        for key in (
                            "n_fft",
                            "hop_length",
                            "power",
                            "fmin",
                            "fmax",
                            "center",
                            "pad_mode",
                        )
                    }
                ),
            }
        )
    return meta


def _torch_export(graph, example, dynamic, opset, input_names, output_names):
    """Run torch.onnx.export (torch.export-based exporter) and return the model."""
    import torch

    kwargs = {}
    if dynamic:
        batch = torch.export.Dim("batch")
        kwargs["dynamic_shapes"] = {"x": {0: batch}, "section": {0: batch}}
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)  # "torchvision is not installed" notes
    try:
        with warnings.catch_warnings():
            # deprecation notices from torch.export internals, not for our users
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            # both inputs share the batch dimension, which torch notes
            warnings.filterwarnings(
                "ignore", message=".*The axis name", category=UserWarning
            )
            program = torch.onnx.export(
                graph,
                example,
                None,
                dynamo=True,
                input_names=input_names,
                output_names=output_names,
                opset_version=opset,
                verbose=False,
                **kwargs,
            )
    finally:
        registration.setLevel(level)
    return program.model_proto


@_substitute(example=_FIT_EXAMPLE)
@validate_params(
    {
        "estimator": "no_validation",
        "path": [str, os.PathLike, None],
        "include_frontend": ["boolean"],
        "opset": [Interval(Integral, _MIN_OPSET, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def export_onnx(
    estimator, path, *, include_frontend=False, opset=None, batch_size=None
):
    """Export the scoring graph of a fitted detector to an ONNX model.

    The ONNX model computes what ``anomaly_score(X, sections=...)`` of the
    fitted :class:`~sklearn_asd.ContrastiveASDEstimator` computes: the
    standardisation, the patches every ``score_hop`` frames (or the shared
    feature map with ``score_mode="shared"``), the MobileNetV2 branch and the
    seed score ``logsumexp(z_{j != s}) - z_s`` averaged over patches, for
    every section at once; or, when the detector scores with its autoencoder
    branch (``score_branch_ == "ae"``, e.g. the single-section fallback), the
    mean reconstruction error of the patches. For a Pipeline, the
    :class:`~sklearn_asd.features.MedianFilter` steps after the log-mel step
    are in the graph too, and with ``include_frontend=True`` so is the
    :class:`~sklearn_asd.features.LogMelSpectrogram` (an STFT as a
    convolution with a fixed Hann-windowed DFT basis, the mel filterbank and
    the DCASE log formula, in float32). A leading
    :class:`~sklearn_asd.features.AudioLoader` is skipped: file reading stays
    in Python.

    Graph inputs:

    - ``"log_mel"``: float32 ``(batch, n_mels * n_frames)``, the flattened
      output of the LogMelSpectrogram step (before any MedianFilter); or,
      with ``include_frontend=True``, ``"waveform"``: float32
      ``(batch, n_samples)``, the waveforms the LogMelSpectrogram step takes.
    - ``"section"``: int64 ``(batch,)``, the index of each clip's section in
      the ``"sections"`` metadata (the detector's ``classes_``); a negative
      index (e.g. -1) scores the clip against its best-matching scored
      section, as ``sections=None`` does (auxiliary classes, listed in the
      ``"auxiliary_sections"`` metadata, are never the best match). An index
      past the last section makes the runtime raise an error.

    Only the seed's softmax score is exported: a detector whose CNN branch
    scores with ``score_method="knn"`` or ``"mahalanobis"`` raises a
    ``ValueError`` (set ``score_method="softmax"`` first).

    Graph outputs (float32, DCASE sign: higher = more anomalous):

    - ``"anomaly_score"``: ``(batch,)``, the score for the given section;
    - ``"section_scores"``: ``(batch, n_sections)``, the score for every
      section (with the autoencoder branch every column is the same score).

    Metadata (``metadata_props``, strings): ``sklearn_asd_version``,
    ``input``, ``sections`` (JSON list, in index order), ``n_mels``,
    ``n_frames``, ``score_sign`` (``"higher_is_more_anomalous"``),
    ``threshold`` (``-offset_``: a clip is predicted anomalous when its score
    is above it, as ``predict`` does), ``score_branch``, ``score_mode``,
    ``median_filters``, and with the front end ``sr``, ``n_samples`` and
    ``log_mel`` (JSON of the STFT parameters).

    Parameters
    ----------
    estimator : ContrastiveASDEstimator or Pipeline
        A fitted ContrastiveASDEstimator (either ``branches``), or a fitted
        Pipeline of ``[AudioLoader ->] [LogMelSpectrogram ->] [MedianFilter ->
        ...] ContrastiveASDEstimator``.
    path : str, path-like or None
        File to write the model to; ``None`` only returns it.
    include_frontend : bool, default=False
        Put the log-mel front end in the graph, whose input is then waveforms.
        Needs a Pipeline with a LogMelSpectrogram step.
    opset : int, default=None
        ONNX opset (18 or later, the versions torch's exporter implements);
        ``None`` uses the exporter's default.
    batch_size : int, default=None
        ``None`` exports a dynamic batch dimension; an int fixes it.

    Returns
    -------
    model : onnx.ModelProto
        The exported model (also written to ``path``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the detector or one of the exported steps is not fitted.
    ValueError
        If the estimator or a Pipeline step is not supported.
    ImportError
        If onnx or onnxscript is not installed.

    Notes
    -----
    The outputs are float32 and match the estimator's float64 scores up to
    float32 rounding (measured: at most 6.2e-5 on scores within [-1.2, 1.6]):
    the runtime's kernels differ from torch's and with the batch size, the seed
    score is a difference of logits, and the graph averages the patch scores in
    float32. With the front end, the float32 STFT
    differs from the transformer's float64 FFT: measured on 95 real DCASE clips,
    at most 5.3e-4 dB, and scores in [-8, 10] moved by at most 1.2e-5 (see
    ``docs/deployment.md``). Non-finite inputs are not rejected in the graph:
    they give NaN scores. The estimator checks its input; a deployment should
    too.

    Examples
    --------
    {example}
    >>> import onnxruntime as ort
    >>> from sklearn_asd.export import export_onnx
    >>> model = export_onnx(det, None, batch_size=4)
    >>> {p.key: p.value for p in model.metadata_props}["sections"]
    '["a", "b"]'
    >>> session = ort.InferenceSession(model.SerializeToString())
    >>> score, per_section = session.run(
    ...     None, {"log_mel": X[:4], "section": np.array([0, 0, 1, -1])}
    ... )
    >>> per_section.shape
    (4, 2)
    >>> expected = det.anomaly_score(X[:4], sections=["a", "a", "b", "b"])
    >>> bool(np.allclose(score[:3], expected[:3], rtol=1e-4, atol=1e-4))
    True
    """
    log_mel, filters, detector = _unpack(estimator, include_frontend)
    onnx = _import_onnx()
    if opset is not None and opset > onnx.defs.onnx_opset_version():
        raise ValueError(
            f"opset={opset} is newer than the installed onnx {onnx.__version__} "
            f"knows (up to {onnx.defs.onnx_opset_version()})"
        )
    import torch

    graph, branch, mode = _scoring_graph(log_mel, filters, detector, include_frontend)
    n = 2 if batch_size is None else batch_size
    if include_frontend:
        n_inputs = log_mel.n_features_in_
    else:
        n_inputs = detector.n_features_in_
    example = (
        torch.zeros(n, n_inputs, dtype=torch.float32),
        torch.zeros(n, dtype=torch.int64),
    )
    input_names = ["waveform" if include_frontend else "log_mel", "section"]
    model = _torch_export(
        graph,
        example,
        batch_size is None,
        opset,
        input_names,
        ["anomaly_score", "section_scores"],
    )
    version = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset is not None and version != opset:
        # the exporter falls back to its own opset when conversion fails
        raise ValueError(
            f"torch.onnx.export could not convert the graph to opset {opset} "
            f"(it gave opset {version}): use another opset, or opset=None"
        )
    meta = _metadata(log_mel, filters, detector, include_frontend, branch, mode)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    model.doc_string = (
        f"sklearn_asd {__version__} anomaly scores (higher = more anomalous) of "
        f"{type(detector).__name__}: inputs {input_names[0]!r} float32 and "
        "'section' int64 (index into the 'sections' metadata, -1 = best match); "
        "outputs 'anomaly_score' (batch,) and 'section_scores' (batch, n_sections)"
    )
    onnx.checker.check_model(model)
    if path is not None:
        from sklearn_asd.persistence import atomic_open

        # temp file + rename: an interrupted export never leaves a partial model
        with atomic_open(os.fspath(path), "wb") as f:
            f.write(model.SerializeToString())
    return model
