# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared fit and scoring logic of the neural detectors (private).

:class:`_NeuralDetector` is the base of
:class:`~sklearn_asd.estimator.ContrastiveASDEstimator` and
:class:`~sklearn_asd.estimator.AutoencoderBaseline`: input validation, the
training loop around the private skorch net, thresholds, scoring and pickling.
"""

import contextlib
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_asd.utils._detector import (
    _FIT_DOMAINS,
    _FIT_RETURNS,
    _FIT_Y,
    _SCORE_SECTIONS,
    _AnomalyScoreMixin,
    _section_indices,
)
from sklearn_asd.utils._docstring import _substitute
from sklearn_asd.utils._layout import check_spectrogram_layout
from sklearn_asd.utils._threshold import _offset_from_scores
from sklearn_asd.utils._validation import (
    _check_finite_rows,
    _check_section_labels,
    _class_indices,
    _training_mask,
)

__all__ = []

# patches per forward pass at scoring time (whole clips; bounds memory)
_SCORE_BATCH = 128

# constraint of the integer parameters that count something (epochs, frames, ...)
_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]

# the detectors' shared parameter and attribute texts (for _substitute)
_PRECISION = """
precision : {"float32", "bfloat16"}, default="float32"
    ``"bfloat16"`` runs the forward passes of training and scoring under
    :func:`torch.autocast` with bfloat16 (mixed precision: weights,
    optimiser and losses stay float32; bfloat16 has float32's exponent
    range, so no gradient scaling is needed). It pays off on GPUs with
    bfloat16 units (NVIDIA Ampere and later) and CPUs with AVX512-BF16 or
    AMX; elsewhere it can be slower. Scores differ from float32 ones by
    bfloat16 rounding (about 3 significant digits). float16 autocast is not
    offered (it needs gradient scaling).
"""

_FITTED_SIZES = """
n_features_in_ : int
    Number of input features.
n_frames_ : int
    Frames per clip seen in fit.
n_epochs_ : int
    Epochs run.
"""


def _padded_chunks(S, per_chunk):
    """Yield ``(rows, chunk)``: ``per_chunk`` clips as a tensor, zero-padded.

    Every forward pass gets the same number of clips (the padding's outputs are
    dropped through ``rows``): a clip's score then never depends on which other
    clips are scored with it (batch-size dependent kernels differ in the last
    float bits).
    """
    import torch

    for start in range(0, S.shape[0], per_chunk):
        chunk = np.zeros((per_chunk, *S.shape[1:]), dtype=np.float32)
        part = S[start : start + per_chunk]
        chunk[: part.shape[0]] = part
        yield slice(start, start + part.shape[0]), torch.from_numpy(chunk)


def _mse(recon, x, dim):
    """Mean squared error as float64; recomputed in float64 if float32 overflows."""
    import torch

    from sklearn_asd.models._scoring import _squared_error

    err = _squared_error(recon, x, dim)
    if not bool(torch.isfinite(err).all()):  # huge inputs: squares beyond 3.4e38
        err = _squared_error(recon.double(), x.double(), dim)
    return err.double().cpu()


def _check_finite_scores(scores, S, name):
    """Raise a ValueError naming the clips whose anomaly score is not finite."""
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        shown = ", ".join(str(i) for i in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        peak = float(np.abs(S[bad]).max())
        raise ValueError(
            f"{name} computed non-finite anomaly scores for row(s) {shown}{more}: "
            f"their features reach {peak:.3g} standard deviations from the "
            "training mean, far outside the range seen in fit (check the scale "
            "of the input: log-mel spectrograms in dB)"
        )


class _NeuralDetector(_AnomalyScoreMixin, OutlierMixin, BaseEstimator):
    """Shared fit/score logic of the neural detectors (private).

    A subclass defines ``_items_per_clip`` (training items of a clip),
    ``_train_dataset``, ``_build_net`` (the module, through ``_make_net``) and
    ``_anomaly_scores`` (standardised spectrograms -> scores); the torch score
    formulas live in :mod:`sklearn_asd.models._scoring`.
    """

    _common_constraints: dict = {
        "n_mels": _POSITIVE_INT,
        "max_epochs": _POSITIVE_INT,
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _uses_sections = True

    # ---------------------------------------------------------------- validation
    def _validate_X(self, X, reset):
        X_raw = X
        with np.errstate(over="ignore"):  # float64 beyond float32: reported below
            X = validate_data(
                self, X, reset=reset, dtype=np.float32, ensure_all_finite=False
            )
        if not np.isfinite(X).all():
            raw = np.asarray(X_raw)
            if raw.dtype.kind == "f" and np.isfinite(raw).all():
                bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
                raise ValueError(
                    f"X holds values beyond the float32 range (|x| > 3.4e38) in "
                    f"row(s) {', '.join(map(str, bad[:10]))}: "
                    f"{type(self).__name__} computes in float32; log-mel "
                    "spectrograms in dB are far smaller"
                )
        _check_finite_rows(X)
        n_frames = check_spectrogram_layout(
            X_raw, X.shape[1], self.n_mels, type(self).__name__
        )
        return X.reshape(X.shape[0], self.n_mels, n_frames)

    def _check_device(self):
        import torch

        device = str(self.device)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but no CUDA GPU is available to torch "
                f"(torch {torch.__version__}): use device='cpu' or install a CUDA "
                "build of torch"
            )
        try:
            torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"invalid device {self.device!r}: {exc}") from None
        return device

    def _autocast(self):
        """Autocast context of ``precision`` for the net's device (or a no-op)."""
        import torch

        if getattr(self, "precision", "float32") != "bfloat16":
            return contextlib.nullcontext()
        device = torch.device(self.net_.device if hasattr(self, "net_") else "cpu")
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def _encode_sections(self, sections, n_samples, fitting):
        if sections is None:
            return None
        sections = _check_section_labels(sections, n_samples)
        if fitting:
            return sections
        idx = _section_indices(
            sections, n_samples, self.classes_, self._scored_classes()
        )
        auxiliary = set(getattr(self, "auxiliary_classes_", np.array([])).tolist())
        asked = sorted({str(s) for s in sections.tolist() if s in auxiliary})
        if asked:
            raise ValueError(
                f"section(s) {asked[:10]} are auxiliary classes: they trained the "
                "classifier but are never scored; score with one of the sections "
                f"{self._scored_classes().tolist()} (or sections=None for the "
                "best-matching one)"
            )
        return idx

    def _scored_classes(self):
        return getattr(self, "scored_classes_", self.classes_)

    # ------------------------------------------------------------------- fitting
    @_substitute(y=_FIT_Y, domains=_FIT_DOMAINS, returns=_FIT_RETURNS)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sections=None, domains=None):
        """Train on normal clips.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened log-mel spectrograms.
        {y}
        sections : array-like of shape (n_clips,), default=None
            Class of each clip (section IDs, section x attribute combinations or
            machine types; any hashable labels). Routed by metadata routing.
        {domains}

        {returns}
        """
        previous = dict(self.__dict__)
        try:
            return self._fit(X, y, sections)
        except BaseException:
            # never leave a half-trained or half-updated detector behind (an
            # interrupted or failed fit): restore the state before this call,
            # i.e. unfitted, or the previous model intact
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise

    def _fit(self, X, y, sections):
        import torch

        from sklearn_asd._net import _reestimate_batchnorm

        S = self._validate_X(X, reset=True)
        n = S.shape[0]
        device = self._check_device()
        keep = _training_mask(y, n)
        raw_sections = self._encode_sections(sections, n, fitting=True)
        if raw_sections is None or not self._uses_sections:
            raw_sections = np.zeros(n, dtype=object)
        raw_sections = raw_sections[keep]
        classes, labels = _class_indices(raw_sections.tolist())
        self.classes_ = np.array(classes, dtype=object)
        self._set_auxiliary_classes()
        S = S[keep]
        self.n_frames_ = S.shape[2]
        # one scalar mean/std over all bands and frames: keeps the spectral shape,
        # makes the losses independent of the dB scale
        self.feature_mean_ = float(S.mean(dtype=np.float64))
        self.feature_std_ = float(S.std(dtype=np.float64)) or 1.0
        S = self._standardize(S)
        self._check_training_data(S, labels)

        rs = check_random_state(self.random_state)
        torch_seed, aug_seed, split_seed = rs.randint(np.iinfo(np.int32).max, size=3)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch_seed))
            net = self._build_net(S, labels, device, int(aug_seed), int(split_seed))
            train_set = self._train_dataset(S, labels, net._train_idx)
            net.fit(train_set, None)
            # skorch's fit swallows KeyboardInterrupt and returns early; an epoch
            # is finished when its train_loss was recorded (rows are added at
            # the start)
            finished = sum("train_loss" in row for row in net.history)
            if finished < self.max_epochs:
                raise KeyboardInterrupt(
                    f"training was interrupted after {finished} of "
                    f"{self.max_epochs} finished epochs; {type(self).__name__} "
                    "keeps its previous state (unfitted, or the model of the "
                    "previous fit)"
                )
            _reestimate_batchnorm(
                net.module_, train_set, net.batch_size, net.device, net.autocast()
            )
        # Saved models hold the weights once. The optimiser's state (Adam: two
        # moments per weight) is of no use after fit (a new fit builds a new
        # net), and skorch pickles the ``module`` parameter (here the same
        # instance as ``module_``) apart from ``module_``, i.e. a second copy of
        # the weights: keep its class instead. Model files shrink 4x.
        net.optimizer_ = None
        net.module = type(net.module_)
        net.train_split = None  # held the validation clips' features
        self.net_ = net
        self.history_ = net.history
        self.n_epochs_ = len(net.history)
        self._after_training()
        # the threshold comes from the scored classes' clips only: auxiliary
        # clips trained the classifier, they are never scored
        scored = np.isin(labels, self._scored_indices())
        self.offsets_ = {}
        for key, train_scores in self._training_scores(S, labels, scored).items():
            _check_finite_scores(train_scores, S[scored], type(self).__name__)
            self.offsets_[key] = self._offset_of(train_scores)
        if self._score_key() not in self.offsets_:
            self._check_score_method()  # raises: say why
        return self

    def _offset_of(self, train_scores):
        """``offset_`` from the training clips' anomaly scores (contamination)."""
        return _offset_from_scores(train_scores, self.contamination)

    def _set_auxiliary_classes(self):
        """Set ``auxiliary_classes_`` and ``scored_classes_`` from the parameter."""
        requested = getattr(self, "auxiliary_classes", None)
        classes = self.classes_.tolist()
        if requested is None:
            auxiliary = []
        else:
            if isinstance(requested, str) or not np.iterable(requested):
                raise ValueError(
                    "auxiliary_classes must be a list of section labels (or None), "
                    f"got {requested!r}"
                )
            auxiliary = list(dict.fromkeys(requested))
            missing = [c for c in auxiliary if c not in classes]
            if missing:
                raise ValueError(
                    f"auxiliary class(es) {[str(c) for c in missing[:10]]} do not "
                    f"occur in the training sections {[str(c) for c in classes[:20]]}"
                    ": every auxiliary class needs its clips in fit (sections=...)"
                )
            if len(auxiliary) == len(classes):
                raise ValueError(
                    "every training class is an auxiliary class: at least one "
                    "section of the machine to monitor must remain to be scored"
                )
        aux = set(auxiliary)
        self.auxiliary_classes_ = np.array(
            [c for c in classes if c in aux], dtype=object
        )
        self.scored_classes_ = np.array(
            [c for c in classes if c not in aux], dtype=object
        )

    def _scored_indices(self):
        aux = set(self.auxiliary_classes_.tolist())
        return np.array(
            [i for i, c in enumerate(self.classes_.tolist()) if c not in aux],
            dtype=np.int64,
        )

    def _training_scores(self, S, labels, scored):
        """Anomaly scores of the scored training clips, by ``offsets_`` key."""
        return {self._score_key(): self._anomaly_scores(S[scored], labels[scored])}

    def _score_key(self):
        """Key of ``offsets_`` for the current scoring settings."""
        return "default"

    def __setstate__(self, state):
        # models saved before auxiliary classes and per-back-end thresholds:
        # one offset_ (of the branch used in fit), the seed's softmax score
        state = dict(state)
        for name, value in (
            ("score_method", "softmax"),
            ("n_neighbors", 1),
            ("auxiliary_classes", None),
        ):
            if "score_branch" in state:  # a ContrastiveASDEstimator
                state.setdefault(name, value)
        if "offset_" in state and "offsets_" not in state:
            offset = state.pop("offset_")
            branch = state.get("score_branch_", "ae")
            state["offsets_"] = {"ae" if branch == "ae" else "softmax": offset}
        if "classes_" in state and "scored_classes_" not in state:
            state["scored_classes_"] = state["classes_"]
            state["auxiliary_classes_"] = np.array([], dtype=object)
        super().__setstate__(state)

    @property
    def offset_(self):
        """Threshold subtracted in ``decision_function`` (current settings)."""
        offsets = self.__dict__.get("offsets_")
        if offsets is None:
            raise AttributeError(f"{type(self).__name__} has no offset_ before fit")
        key = self._score_key()
        if key in ("knn", "mahalanobis"):
            self._check_score_method()  # a clear error, or the current k's offset
        if key not in offsets:
            raise AttributeError(
                f"{type(self).__name__} has no threshold for {key!r} scores"
            )
        return offsets[key]

    @offset_.setter
    def offset_(self, value):
        offsets = self.__dict__.get("offsets_")
        if offsets is None:
            raise AttributeError("offset_ can be set after fit only")
        offsets[self._score_key()] = float(value)

    def _standardize(self, S):
        return ((S - self.feature_mean_) / self.feature_std_).astype(np.float32)

    def _after_training(self):
        """Set the attributes derived from the trained net (subclass hook)."""

    def _check_training_data(self, S, labels):
        n_items = S.shape[0] * self._items_per_clip(S.shape[2])
        if n_items < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 training patches: got "
                f"{S.shape[0]} sample(s) of {S.shape[2]} frame(s), i.e. {n_items} "
                "patch(es); use longer or more clips, or a smaller patch_frames"
            )

    def _split(self, n_clips, split_seed):
        """Split clip indices into training and validation (a clip stays whole)."""
        order = np.random.default_rng(split_seed).permutation(n_clips)
        if self.validation_fraction is None:
            return np.arange(n_clips), None
        n_valid = round(self.validation_fraction * n_clips)
        if n_valid < 1 or n_valid >= n_clips:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {n_clips} clips "
                "leaves no validation or no training clip"
            )
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def _make_net(self, module, S, labels, device, split_seed, **loss):
        import torch
        from skorch.callbacks import PassthroughScoring
        from skorch.helper import predefined_split

        from sklearn_asd._net import _ASDNet

        train_idx, valid_idx = self._split(S.shape[0], split_seed)
        terms = loss.pop("terms")
        train_split = None
        callbacks = [PassthroughScoring(f"train_{t}", on_train=True) for t in terms]
        if valid_idx is not None:
            train_split = predefined_split(self._train_dataset(S, labels, valid_idx))
            callbacks += [PassthroughScoring(f"valid_{t}") for t in terms]
        n_items = len(train_idx) * self._items_per_clip(S.shape[2])
        if n_items < 2:
            raise ValueError("the training split holds fewer than 2 patches")
        net = _ASDNet(
            module,
            torch.nn.CrossEntropyLoss,  # unused: _ASDNet computes the loss
            optimizer=torch.optim.Adam,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=min(self.batch_size, n_items),
            iterator_train__shuffle=True,
            # never a last batch of one (BatchNorm and the contrastive loss need 2)
            iterator_train__drop_last=n_items % min(self.batch_size, n_items) == 1,
            train_split=train_split,
            device=device,
            precision=self.precision,
            callbacks=callbacks,
            verbose=int(self.verbose),
            **loss,
        )
        net._train_idx = train_idx
        return net

    # ------------------------------------------------------------------- scoring
    @_substitute(sections=_SCORE_SECTIONS)
    def anomaly_score(self, X, *, sections=None):
        """Compute the anomaly score of each clip (DCASE sign: higher = anomalous).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened log-mel spectrograms.
        {sections}

        Returns
        -------
        scores : ndarray of shape (n_clips,), float64
            Anomaly scores.
        """
        check_is_fitted(self)
        S = self._standardize(self._validate_X(X, reset=False))
        idx = None
        if self._uses_sections:
            idx = self._encode_sections(sections, S.shape[0], fitting=False)
        scores = self._anomaly_scores(S, idx).astype(np.float64)
        _check_finite_scores(scores, S, type(self).__name__)
        return scores
