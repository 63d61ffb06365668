# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""Neural anomalous-sound detectors with the scikit-learn outlier-detector API.

- :class:`ContrastiveASDEstimator`: the seed system (DCASE 2021 Task 2): an
  autoencoder branch and a MobileNetV2 branch see the same log-mel patch; the
  MobileNetV2 learns to classify sections, the autoencoder to reconstruct, and a
  contrastive loss pulls their embeddings together. Scoring uses the MobileNetV2
  branch only.
- ``ContrastiveASDEstimator(branches="cnn")``: the DCASE 2021 MobileNetV2
  baseline, i.e. the CNN branch alone (no autoencoder, no projection heads are
  built), trained with cross-entropy only.
- :class:`AutoencoderBaseline`: the DCASE 2020/2021 autoencoder baseline
  (5 stacked frames, dense 128x4 / 8 autoencoder, reconstruction-error score).

All take flattened log-mel spectrograms ``(n_clips, n_mels * n_frames)`` as
produced by :class:`~sklearn_asd.features.LogMelSpectrogram`, and follow
IsolationForest's conventions: ``score_samples`` is higher for normal clips,
``decision_function = score_samples - offset_``, ``predict`` gives +1 (normal) /
-1 (anomalous). ``anomaly_score`` gives the DCASE sign (higher = more anomalous).
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_asd.augment import AugmentationChain
from sklearn_asd.utils._detector import _AnomalyScoreMixin
from sklearn_asd.utils._layout import check_spectrogram_layout
from sklearn_asd.utils._threshold import _offset_from_scores
from sklearn_asd.utils._validation import (
    _check_finite_rows,
    _check_section_labels,
    _class_indices,
    _training_mask,
)

__all__ = ["AutoencoderBaseline", "ContrastiveASDEstimator"]

# patches per forward pass at scoring time (whole clips; bounds memory)
_SCORE_BATCH = 128


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

    err = ((recon - x) ** 2).mean(dim=dim)
    if not bool(torch.isfinite(err).all()):  # huge inputs: squares beyond 3.4e38
        err = ((recon.double() - x.double()) ** 2).mean(dim=dim)
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


def _mahalanobis_model(E, labels):
    """Class means and shared Ledoit-Wolf precision of embeddings ``E``."""
    from sklearn.covariance import LedoitWolf

    classes = np.unique(labels)
    means = np.stack([E[labels == c].mean(axis=0, dtype=np.float64) for c in classes])
    centred = E - means[np.searchsorted(classes, labels)]
    precision = None
    if centred.shape[0] >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            precision = LedoitWolf(assume_centered=True).fit(centred).precision_
    if precision is None or not np.isfinite(precision).all():
        # one clip, or constant embeddings: Euclidean distance instead
        precision = np.eye(centred.shape[1])
    return classes, means, precision.astype(np.float32)


def _mahalanobis_distances(E, labels, classes, means, precision):
    """Squared distance of each row to its class mean (``labels=None``: the min)."""
    E = np.asarray(E, dtype=np.float64)
    P = precision.astype(np.float64)
    out = np.empty((E.shape[0], len(classes)), dtype=np.float64)
    for j in range(len(classes)):
        diff = E - means[j]
        out[:, j] = np.einsum("ij,jk,ik->i", diff, P, diff)
    if labels is None:
        return out.min(axis=1)
    column = {c: j for j, c in enumerate(classes.tolist())}
    rows = [column[i] for i in np.asarray(labels).tolist()]
    return out[np.arange(E.shape[0]), rows]


class _NeuralDetector(_AnomalyScoreMixin, OutlierMixin, BaseEstimator):
    """Shared fit/score logic of the neural detectors (private)."""

    _common_constraints: dict = {
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # sections reach fit and scoring methods through metadata routing by default
    __metadata_request__fit = {"sections": True, "domains": False}
    __metadata_request__score_samples = {"sections": True}
    __metadata_request__decision_function = {"sections": True}
    __metadata_request__predict = {"sections": True}

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
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        unknown = sorted({str(s) for s in sections.tolist() if s not in index})
        if unknown:
            raise ValueError(
                f"unknown section(s) {unknown[:10]}: the detector was trained on "
                f"sections {self._scored_classes().tolist()}"
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
        return np.array([index[s] for s in sections.tolist()], dtype=np.int64)

    def _scored_classes(self):
        return getattr(self, "scored_classes_", self.classes_)

    # ------------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sections=None, domains=None):
        """Train on normal clips.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened log-mel spectrograms.
        y : array-like of shape (n_clips,), default=None
            DCASE labels, 0 = normal, 1 = anomalous; clips labelled 1 are left out
            of training. ``None`` trains on every clip. Negative labels raise a
            ``ValueError``.
        sections : array-like of shape (n_clips,), default=None
            Class of each clip (section IDs, section x attribute combinations or
            machine types; any hashable labels). Routed by metadata routing.
        domains : array-like of shape (n_clips,), default=None
            Accepted for API symmetry; training ignores it.

        Returns
        -------
        self : object
            Fitted detector.
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
    def anomaly_score(self, X, *, sections=None):
        """Compute the anomaly score of each clip (DCASE sign: higher = anomalous).

        Parameters
        ----------
        X : array-like of shape (n_clips, n_mels * n_frames)
            Flattened log-mel spectrograms.
        sections : array-like of shape (n_clips,), default=None
            Section of each clip, among ``classes_``. ``None`` scores each clip
            against its best-matching section.

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

    def _patch_batches(self, S, hop):
        """Yield ``(rows, n_patches, patches)`` for fixed-size chunks of clips."""
        n_patches = 1 + (S.shape[2] - self.patch_frames) // hop
        for rows, chunk in _padded_chunks(S, max(1, _SCORE_BATCH // n_patches)):
            # (c, n_mels, n_patches, patch_frames) view -> (c * n_patches, 1, M, T)
            windows = chunk.unfold(2, self.patch_frames, hop)
            windows = windows.permute(0, 2, 1, 3).reshape(
                -1, 1, self.n_mels, self.patch_frames
            )
            yield rows, n_patches, windows

    def _clip_batches(self, S):
        """Yield ``(rows, None, clips)``: whole clips, a fixed number per batch."""
        for rows, chunk in _padded_chunks(S, max(1, _SCORE_BATCH // 32)):
            yield rows, None, chunk[:, None]

    def _shared_logits(self, cnn, clips):
        """Logits of every window from one pass of the convolutions per clip.

        Windows are ``w = ceil(patch_frames / 32)`` columns of the feature map
        (MobileNetV2's time stride is 32), moved one column at a time; each is
        mean-pooled (over mel rows and its columns) and classified.
        """
        fmap = cnn.features(clips)  # (c, C, H', W')
        columns = fmap.mean(dim=2)  # (c, C, W')
        width = min(-(-self.patch_frames // 32), columns.shape[2])
        windows = columns.unfold(2, width, 1).mean(dim=3)  # (c, C, n_windows)
        emb = windows.permute(0, 2, 1)  # (c, n_windows, C)
        logits = cnn.classify(emb.reshape(-1, emb.shape[2]))
        return (
            logits.float().cpu().reshape(emb.shape[0], emb.shape[1], -1),
            emb.float().cpu(),
        )

    def _cnn_outputs(self, cnn, S):
        """One pass of the CNN branch over whole clips.

        Returns ``(seed, logits, embedding)``: the seed score of every class
        (patch mean of ``logsumexp(z_{j != s}) - z_s``, shape ``(n, C)``), the
        patch-mean logits ``(n, C)`` and the patch-mean embedding ``(n, D)``.
        """
        import torch

        hop = self.patch_hop if self.score_hop is None else self.score_hop
        n_classes = len(self.classes_)
        n = S.shape[0]
        seed = np.empty((n, n_classes), dtype=np.float64)
        mean_logits = np.empty((n, n_classes), dtype=np.float64)
        embedding = None
        eye = torch.eye(n_classes, dtype=torch.bool)
        shared = self.score_mode == "shared"
        batches = self._clip_batches(S) if shared else self._patch_batches(S, hop)
        cnn.eval()
        with torch.inference_mode(), self._autocast():
            for rows, n_patches, x in batches:
                if shared:
                    z, emb = self._shared_logits(cnn, x.to(self.net_.device))
                else:
                    logits, emb = cnn(x.to(self.net_.device))
                    z = logits.float().cpu().reshape(-1, n_patches, n_classes)
                    emb = emb.float().cpu().reshape(z.shape[0], n_patches, -1)
                others = z[:, :, None, :].expand(-1, -1, n_classes, -1)
                others = others.masked_fill(eye, float("-inf"))
                a = torch.logsumexp(others, dim=-1) - z  # (c, n_patches, C)
                k = rows.stop - rows.start
                seed[rows] = a.double().mean(dim=1).numpy()[:k]
                mean_logits[rows] = z.double().mean(dim=1).numpy()[:k]
                if embedding is None:
                    embedding = np.empty((n, emb.shape[2]), dtype=np.float32)
                embedding[rows] = emb.mean(dim=1).numpy()[:k]
        return seed, mean_logits, embedding

    def _items_per_clip(self, n_frames):
        if n_frames < self.patch_frames:
            raise ValueError(
                f"clips have {n_frames} frames, fewer than patch_frames="
                f"{self.patch_frames}: use longer clips or a smaller patch_frames"
            )
        return 1 + (n_frames - self.patch_frames) // self.patch_hop

    def _train_dataset(self, S, labels, idx):
        from sklearn_asd._net import _PatchDataset

        return _PatchDataset(S[idx], labels[idx], self.patch_frames, self.patch_hop)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


_PATCH_CONSTRAINTS = {
    "patch_frames": [Interval(Integral, 1, None, closed="left")],
    "patch_hop": [Interval(Integral, 1, None, closed="left")],
    "score_hop": [Interval(Integral, 1, None, closed="left"), None],
    "score_mode": [StrOptions({"patches", "shared"})],
    "width": [Interval(Real, 0, None, closed="neither")],
    "last_channel": [Interval(Integral, 1, None, closed="left")],
}


class ContrastiveASDEstimator(_NeuralDetector):
    """The seed system's dual-branch contrastive anomalous sound detector.

    Training (``fit``): every log-mel patch of ``patch_frames`` frames (hop
    ``patch_hop``) goes through a MobileNetV2 that classifies its section and a
    dense autoencoder that reconstructs it; both embeddings are projected to
    ``embedding_dim`` and tied by a contrastive loss. The loss is
    ``CE(section) + reconstruction_weight * MSE + contrastive_weight * L_con`` with
    ``L_con`` the seed's form (denominator over j != i) or standard InfoNCE, on
    L2-normalised embeddings, averaged over the batch.

    Scoring uses the MobileNetV2 branch only (no additional parameters at
    inference): the anomaly score of a clip is the mean over its patches of
    ``log((1 - p_s) / p_s)`` for the clip's section ``s``, computed from the
    logits as ``logsumexp(z_{j != s}) - z_s``. With fewer than two sections the
    classifier has nothing to learn, and ``score_branch="auto"`` scores with the
    autoencoder's reconstruction error instead (documented fallback).

    Parameters
    ----------
    n_mels : int, default=128
        Mel bands of the input spectrograms (must match the upstream steps).
    patch_frames : int, default=64
        Frames per training/scoring patch.
    patch_hop : int, default=8
        Hop between training patches, in frames.
    score_hop : int, default=None
        Hop between scoring patches; ``None`` uses ``patch_hop``. A larger hop
        scores fewer patches per clip (faster).
    score_mode : {"patches", "shared"}, default="patches"
        How the CNN branch scores a clip. ``"patches"`` (the seed's): every
        patch of ``patch_frames`` frames, every ``score_hop`` frames, goes
        through the MobileNetV2 on its own. ``"shared"``: the MobileNetV2's
        convolutional layers run once over the whole clip and each window of
        ``patch_frames`` frames pools its part of the feature map (windows move
        by the network's time stride, 32 frames), so overlapping windows share
        the convolutions: several times faster, but a window's features also see
        the frames around it (no zero padding at patch borders), so scores
        differ from ``"patches"``. Training is unchanged.
    width : float, default=0.5
        MobileNetV2 width multiplier (the DCASE baseline uses 0.5).
    last_channel : int, default=1280
        Channels of MobileNetV2's last 1x1 convolution (its embedding size).
    embedding_dim : int, default=128
        Size of the projected embeddings ``u`` and ``p``.
    ae_hidden_dim : int, default=256
        Hidden width of the autoencoder branch.
    ae_bottleneck_dim : int, default=64
        Bottleneck size of the autoencoder branch.
    temperature : float, default=0.1
        Temperature rho of the contrastive loss.
    contrastive_weight : float, default=0.1
        Weight lambda of the contrastive loss.
    reconstruction_weight : float, default=1.0
        Weight alpha of the reconstruction loss.
    contrastive_loss : {"seed", "infonce"}, default="seed"
        ``"seed"``: the seed's loss whose denominator excludes the positive pair;
        ``"infonce"``: standard InfoNCE.
    augmentation : AugmentationChain or None, default=None
        Fit-time augmentation (frame shift, time mask, random median filter,
        mixup); nested parameters are tunable (``augmentation__mixup__alpha``).
    branches : {"dual", "cnn"}, default="dual"
        ``"dual"``: the seed system. ``"cnn"``: the DCASE MobileNetV2 baseline,
        the CNN branch alone (no autoencoder and no projection heads are built;
        the loss is the cross-entropy; ``contrastive_weight`` and
        ``reconstruction_weight`` are unused); it needs two or more sections.
    max_epochs : int, default=20
        Training epochs.
    batch_size : int, default=32
        Patches per training batch.
    lr : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=None
        Fraction of training clips held out (all their patches) to record
        validation losses in ``history_``; ``None`` trains on all clips.
    device : str, default="cpu"
        Torch device for training and scoring, e.g. ``"cuda"``.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` runs the forward passes of training and scoring under
        :func:`torch.autocast` with bfloat16 (mixed precision: weights,
        optimiser and losses stay float32; bfloat16 has float32's exponent
        range, so no gradient scaling is needed). It pays off on GPUs with
        bfloat16 units (NVIDIA Ampere and later) and CPUs with AVX512-BF16 or
        AMX; elsewhere it can be slower. Scores differ from float32 ones by
        bfloat16 rounding (about 3 significant digits). float16 autocast is not
        offered (it needs gradient scaling).
    score_branch : {"auto", "cnn", "ae"}, default="auto"
        Branch used for scoring: ``"cnn"`` (the seed's), ``"ae"`` (reconstruction
        error of the autoencoder branch), ``"auto"``: ``"cnn"`` with two or more
        sections, else ``"ae"``. Both branches are trained either way, so it may
        be changed after fit with ``set_params``; ``offset_`` follows (fit
        stores a threshold for each branch and back-end in ``offsets_``).
    score_method : {"softmax", "knn", "mahalanobis"}, default="softmax"
        How the CNN branch turns a clip into an anomaly score.
        ``"softmax"`` (the seed's): patch mean of ``log((1 - p_s) / p_s)``.
        ``"knn"``: mean cosine distance of the clip's embedding (the patch mean
        of MobileNetV2's pooled features) to its ``n_neighbors`` nearest
        training clips of the same section. ``"mahalanobis"``: squared
        Mahalanobis distance of the embedding to its section's mean training
        embedding (covariance shared by the sections, Ledoit-Wolf shrinkage).
        Used only when the CNN branch scores (``score_branch_ == "cnn"``); may
        be changed after fit with a valid threshold: the training scores behind
        each back-end's offset hold each clip out, of its own neighbours (k-NN,
        leave one out) and of the means and covariance that score it
        (Mahalanobis, 5-fold cross-fitting).
    n_neighbors : int, default=1
        Neighbours of ``score_method="knn"`` (capped at the training clips of
        the section).
    auxiliary_classes : array-like or None, default=None
        Section labels (values of ``sections`` in fit) of *auxiliary* clips:
        normal recordings of other machines that train the classifier as
        extra classes but are never scored and never enter the threshold.
        They give the section classifier something to tell apart when the
        machine to monitor has a single section. They must be other machine
        units, never recordings of the monitored machine: fit warns when the
        classifier cannot tell an auxiliary class from a scored one (clip
        accuracy below 75 %, chance 50 %).
    contamination : "auto" or float, default="auto"
        Sets ``offset_``: ``"auto"`` thresholds at the 0.9 quantile of a gamma
        distribution fitted to the training anomaly scores (the DCASE baseline's
        rule; the empirical 0.9 quantile if the fit fails or its threshold
        would flag more than half of the training clips); a float is the fraction
        of training clips predicted anomalous.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (weights, shuffling), augmentation and the validation split.
    verbose : int, default=0
        1 prints skorch's per-epoch table of losses.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_.cnn`` is the inference network.
    classes_ : ndarray
        Sections seen in fit (the classifier's classes, auxiliary ones
        included).
    sections_ : ndarray
        Alias of ``classes_``.
    auxiliary_classes_ : ndarray
        The classes of ``classes_`` that are auxiliary (never scored).
    scored_classes_ : ndarray
        The classes that can be scored (``classes_`` without the auxiliary
        ones); ``sections=None`` picks the best-matching one among them.
    score_branch_ : str
        Branch used for scoring (``"cnn"`` or ``"ae"``) after fit; ``"cnn"``
        whenever there are two or more training classes, auxiliary ones
        included.
    offset_ : float
        Threshold subtracted in ``decision_function``, for the current
        ``score_branch`` / ``score_method``.
    offsets_ : dict
        Threshold of every available scoring: ``"softmax"``, ``"knn"``,
        ``"mahalanobis"`` (CNN branch) and ``"ae"`` (autoencoder branch),
        from the scored classes' training clips.
    train_embeddings_ : ndarray of shape (n_scored_clips, last_channel)
        Clip embeddings of the scored classes' training clips (k-NN
        back-end; absent when the AE branch is the only one that can score).
    history_ : skorch.callbacks.History
        Per-epoch losses: ``train_loss``, ``train_ce``, ``train_recon``,
        ``train_con`` (and ``valid_*``).
    n_features_in_ : int
        Number of input features.
    n_frames_ : int
        Frames per clip seen in fit.
    n_epochs_ : int
        Epochs run.

    See Also
    --------
    AutoencoderBaseline : The DCASE autoencoder baseline.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd import ContrastiveASDEstimator
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 8 * 20)).astype(np.float32)
    >>> sections = np.repeat(["a", "b"], 6)
    >>> X[sections == "b"] += 2.0
    >>> det = ContrastiveASDEstimator(
    ...     n_mels=8, patch_frames=8, patch_hop=4, width=0.25, last_channel=16,
    ...     embedding_dim=8, ae_hidden_dim=16, ae_bottleneck_dim=4, max_epochs=2,
    ...     random_state=0,
    ... ).fit(X, sections=sections)
    >>> det.classes_.tolist(), det.score_branch_
    (['a', 'b'], 'cnn')
    >>> det.anomaly_score(X[:3], sections=["a", "a", "a"]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_NeuralDetector._common_constraints,
        **_PATCH_CONSTRAINTS,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "ae_hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "ae_bottleneck_dim": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_loss": [StrOptions({"seed", "infonce"})],
        "augmentation": [AugmentationChain, None],
        "branches": [StrOptions({"dual", "cnn"})],
        "score_branch": [StrOptions({"auto", "cnn", "ae"})],
        "score_method": [StrOptions({"softmax", "knn", "mahalanobis"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "auxiliary_classes": ["array-like", None],
    }

    def __init__(
        self,
        *,
        n_mels=128,
        patch_frames=64,
        patch_hop=8,
        score_hop=None,
        score_mode="patches",
        width=0.5,
        last_channel=1280,
        embedding_dim=128,
        ae_hidden_dim=256,
        ae_bottleneck_dim=64,
        temperature=0.1,
        contrastive_weight=0.1,
        reconstruction_weight=1.0,
        contrastive_loss="seed",
        augmentation=None,
        branches="dual",
        max_epochs=20,
        batch_size=32,
        lr=1e-3,
        validation_fraction=None,
        device="cpu",
        precision="float32",
        score_branch="auto",
        score_method="softmax",
        n_neighbors=1,
        auxiliary_classes=None,
        contamination="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_mels = n_mels
        self.patch_frames = patch_frames
        self.patch_hop = patch_hop
        self.score_hop = score_hop
        self.score_mode = score_mode
        self.width = width
        self.last_channel = last_channel
        self.embedding_dim = embedding_dim
        self.ae_hidden_dim = ae_hidden_dim
        self.ae_bottleneck_dim = ae_bottleneck_dim
        self.temperature = temperature
        self.contrastive_weight = contrastive_weight
        self.reconstruction_weight = reconstruction_weight
        self.contrastive_loss = contrastive_loss
        self.augmentation = augmentation
        self.branches = branches
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.device = device
        self.precision = precision
        self.score_branch = score_branch
        self.score_method = score_method
        self.n_neighbors = n_neighbors
        self.auxiliary_classes = auxiliary_classes
        self.contamination = contamination
        self.random_state = random_state
        self.verbose = verbose

    def _check_training_data(self, S, labels):
        super()._check_training_data(S, labels)
        if self.branches == "dual":
            self._resolve_branch()  # fail before training, not after
        if self.branches == "cnn" and len(self.classes_) < 2:
            raise ValueError(
                "branches='cnn' (the MobileNetV2 baseline) needs at least two "
                "sections (1 class given): it learns by classifying sections. Pass "
                "sections= with two or more classes (e.g. machine types), or use "
                "branches='dual', whose autoencoder branch scores single-section data"
            )

    def _build_net(self, S, labels, device, aug_seed, split_seed):
        from sklearn_asd.models import DualBranchASD, MobileNetV2

        if self.branches == "cnn":
            module = MobileNetV2(
                len(self.classes_), width=self.width, last_channel=self.last_channel
            )
            return self._make_net(
                module,
                S,
                labels,
                device,
                split_seed,
                terms=["ce"],
                augmentation=self.augmentation,
                aug_seed=aug_seed,
            )
        module = DualBranchASD(
            max(len(self.classes_), 1),
            self.n_mels,
            self.patch_frames,
            width=self.width,
            last_channel=self.last_channel,
            embedding_dim=self.embedding_dim,
            ae_hidden_dim=self.ae_hidden_dim,
            ae_bottleneck_dim=self.ae_bottleneck_dim,
        )
        return self._make_net(
            module,
            S,
            labels,
            device,
            split_seed,
            terms=["ce", "recon", "con"],
            reconstruction_weight=self.reconstruction_weight,
            contrastive_weight=self.contrastive_weight,
            temperature=self.temperature,
            contrastive_kind=self.contrastive_loss,
            augmentation=self.augmentation,
            aug_seed=aug_seed,
        )

    def _resolve_branch(self, score_branch=None):
        """Return the scoring branch ("cnn" or "ae") for ``score_branch``.

        ``None`` uses the current parameter.
        """
        score_branch = self.score_branch if score_branch is None else score_branch
        if self.branches == "cnn":
            if score_branch == "ae":
                raise ValueError("score_branch='ae' needs branches='dual'")
            return "cnn"
        if score_branch == "auto":
            return "cnn" if len(self.classes_) >= 2 else "ae"
        if score_branch == "cnn" and len(self.classes_) < 2:
            raise ValueError(
                "score_branch='cnn' needs at least two sections: with one class the "
                "section classifier has nothing to learn. Pass sections= with two "
                "or more classes, or use score_branch='auto' or 'ae'"
            )
        return score_branch

    def _after_training(self):
        self.sections_ = self.classes_
        self.score_branch_ = self._resolve_branch()

    def _score_key(self):
        branch = self._resolve_branch()
        return "ae" if branch == "ae" else self.score_method

    def _check_score_method(self):
        """Raise a ValueError when the current score_method cannot score."""
        method = self.score_method
        allowed = ("softmax", "knn", "mahalanobis")
        if method not in allowed:
            raise ValueError(
                f"score_method must be one of {list(allowed)}, got {method!r}"
            )
        offsets = getattr(self, "offsets_", None)
        if offsets is None or method == "softmax":
            return
        if method not in offsets:
            raise ValueError(
                f"score_method={method!r} is not available for this fit: its "
                "threshold leaves each training clip out (of its own neighbours, "
                "of its section's mean), so every scored section needs at least 2 "
                "training clips; use score_method='softmax'"
            )
        fitted = getattr(self, "embedding_settings_", None)
        current = (self.score_mode, self.score_hop)
        if fitted is not None and tuple(fitted) != current:
            raise ValueError(
                f"score_method={method!r} compares clip embeddings with the "
                f"training clips' embeddings, computed with score_mode="
                f"{fitted[0]!r}, score_hop={fitted[1]!r}; scoring now uses "
                f"score_mode={current[0]!r}, score_hop={current[1]!r}: set them "
                "back, or refit"
            )
        if method == "knn" and self.n_neighbors != self._knn_offset_neighbors:
            # n_neighbors changed after fit: the threshold of the new k, from
            # the stored training embeddings (leave one out)
            train = self._cnn_method_scores(
                "knn",
                None,
                self.train_embeddings_,
                self.train_embedding_classes_,
                leave_one_out=True,
            )
            offsets["knn"] = self._offset_of(train)
            self._knn_offset_neighbors = self.n_neighbors

    def _cnn(self):
        module = self.net_.module_
        return module if self.branches == "cnn" else module.cnn

    def _anomaly_scores(self, S, idx):
        # score_branch and score_method are inference-time choices: they may
        # change after fit (offsets_ holds a threshold for each)
        if self._resolve_branch() == "ae":
            return self._ae_scores(S)
        self._check_score_method()
        seed, _, embedding = self._cnn_outputs(self._cnn(), S)
        return self._cnn_method_scores(self.score_method, seed, embedding, idx)

    def _cnn_method_scores(self, method, seed, embedding, idx, leave_one_out=False):
        """Scores of one CNN back-end from the outputs of :meth:`_cnn_outputs`.

        ``idx`` holds indices into ``classes_`` (``None``: best-matching scored
        class). ``leave_one_out=True`` scores the stored training embeddings
        themselves, each without its own row.
        """
        from sklearn_asd.utils._neighbors import knn_anomaly_scores

        scored = self._scored_indices()
        if method == "softmax":
            if idx is None:  # best-matching scored section: the lowest score
                return seed[:, scored].min(axis=1)
            return seed[np.arange(seed.shape[0]), idx]
        if method == "knn":
            return knn_anomaly_scores(
                self.train_embeddings_,
                self.train_embedding_classes_,
                embedding,
                idx,
                n_neighbors=self.n_neighbors,
                method="mean",
                metric="cosine",
                leave_one_out=leave_one_out,
            )
        return self._mahalanobis(embedding, idx, leave_one_out)

    def _mahalanobis(self, embedding, idx, leave_one_out):
        """Squared Mahalanobis distance to the class mean (shared covariance).

        ``leave_one_out=True`` scores the stored training embeddings
        themselves, cross-fitted: each fold of them is scored by the class
        means and covariance of the other folds (a covariance of 1,280-d
        embeddings from tens of clips fits its own clips far too well).
        """
        if not leave_one_out:
            model = (
                self.embedding_mean_classes_,
                self.embedding_means_,
                self.embedding_precision_,
            )
            return _mahalanobis_distances(embedding, idx, *model)
        from sklearn.model_selection import StratifiedKFold

        E, labels = self.train_embeddings_, self.train_embedding_classes_
        n_splits = min(5, int(np.unique(labels, return_counts=True)[1].min()))
        out = np.empty(E.shape[0], dtype=np.float64)
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=0)
        for train, test in folds.split(E, labels):
            model = _mahalanobis_model(E[train], labels[train])
            out[test] = _mahalanobis_distances(E[test], labels[test], *model)
        return out

    def _training_scores(self, S, labels, scored):
        if self._resolve_branch("auto") == "ae":
            return {"ae": self._ae_scores(S[scored])}
        seed, mean_logits, embedding = self._cnn_outputs(self._cnn(), S)
        self._check_auxiliary_separation(mean_logits, labels)
        idx = labels[scored]
        # embedding back-ends: the scored classes' training clips
        self.train_embeddings_ = embedding[scored]
        self.train_embedding_classes_ = idx
        (
            self.embedding_mean_classes_,
            self.embedding_means_,
            self.embedding_precision_,
        ) = _mahalanobis_model(embedding[scored], idx)
        # the embedding back-ends' training scores hold each clip out (of its
        # neighbours; of the Gaussian that scores it): every section needs 2
        methods = ["softmax"]
        if np.unique(idx, return_counts=True)[1].min() >= 2:
            methods += ["knn", "mahalanobis"]
        self.embedding_settings_ = (self.score_mode, self.score_hop)
        self._knn_offset_neighbors = self.n_neighbors
        scores = {
            method: self._cnn_method_scores(
                method, seed[scored], embedding[scored], idx, leave_one_out=True
            )
            for method in methods
        }
        if self.branches == "dual":
            scores["ae"] = self._ae_scores(S[scored])
        return scores

    def _check_auxiliary_separation(self, mean_logits, labels):
        """Warn when a scored class and an auxiliary class are hard to tell apart.

        Clip-level accuracy of the classifier between each pair (scored class,
        auxiliary class) from the patch-mean logits of the two classes, on the
        training clips (or on the validation clips when ``validation_fraction``
        holds some out). Chance is 50 %; below 75 % the auxiliary class probably
        records the machine being monitored (or one that sounds the same).
        """
        aux = [
            i
            for i, c in enumerate(self.classes_.tolist())
            if c in set(self.auxiliary_classes_.tolist())
        ]
        if not aux:
            return
        held_out = np.ones(len(labels), dtype=bool)
        train_idx = getattr(self.net_, "_train_idx", None)
        if self.validation_fraction is not None and train_idx is not None:
            held_out[train_idx] = False
        where = "held-out validation" if not held_out.all() else "training"
        confused = []
        for s in self._scored_indices():
            for a in aux:
                pair = held_out & np.isin(labels, [s, a])
                if not pair.any():
                    continue
                says_s = mean_logits[pair, s] > mean_logits[pair, a]
                accuracy = float(np.mean(says_s == (labels[pair] == s)))
                if accuracy < 0.75:
                    confused.append((accuracy, self.classes_[a], self.classes_[s]))
        if confused:
            confused.sort(key=lambda t: t[0])
            shown = "; ".join(
                f"auxiliary class {a!r} from {s!r} on {acc:.0%}"
                for acc, a, s in confused[:3]
            )
            more = f" (and {len(confused) - 3} more pairs)" if len(confused) > 3 else ""
            warnings.warn(
                f"the classifier tells {shown}{more} of the {where} clips apart "
                "(chance: 50 %): an auxiliary class must be another machine unit, "
                "never recordings of the machine being monitored",
                UserWarning,
                stacklevel=5,
            )

    def _ae_scores(self, S):
        """Mean over patches of the autoencoder branch's reconstruction MSE."""
        import torch

        hop = self.patch_hop if self.score_hop is None else self.score_hop
        ae = self.net_.module_.ae
        ae.eval()
        out = np.empty(S.shape[0], dtype=np.float64)
        with torch.inference_mode(), self._autocast():
            for rows, n_patches, x in self._patch_batches(S, hop):
                x = x.to(self.net_.device)
                recon, _ = ae(x)
                err = _mse(recon, x, dim=(1, 2, 3))
                err = err.reshape(-1, n_patches).mean(dim=1).numpy()
                out[rows] = err[: rows.stop - rows.start]
        return out


class AutoencoderBaseline(_NeuralDetector):
    """DCASE 2020/2021 autoencoder baseline on stacked log-mel frames.

    Each clip gives vectors of ``n_stack`` consecutive frames (``n_stack * n_mels``
    values); a dense autoencoder (``n_hidden`` layers of ``hidden_dim`` on each
    side of a ``bottleneck_dim`` bottleneck) learns to reconstruct them; the
    anomaly score of a clip is the mean over its vectors of the reconstruction
    MSE. Sections are accepted for API symmetry and ignored. Defaults follow the
    DCASE baseline (5 frames, 128 x 4 / 8, 100 epochs, batch 512, Adam 1e-3).

    Parameters
    ----------
    n_mels : int, default=128
        Mel bands of the input spectrograms.
    n_stack : int, default=5
        Consecutive frames per vector.
    hidden_dim : int, default=128
        Width of the hidden dense layers.
    bottleneck_dim : int, default=8
        Size of the bottleneck.
    n_hidden : int, default=4
        Hidden layers on each side of the bottleneck.
    max_epochs : int, default=100
        Training epochs.
    batch_size : int, default=512
        Vectors per batch.
    lr : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=None
        Fraction of clips held out to record validation losses.
    device : str, default="cpu"
        Torch device.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` runs the forward passes of training and scoring under
        :func:`torch.autocast` with bfloat16 (mixed precision: weights,
        optimiser and losses stay float32; bfloat16 has float32's exponent
        range, so no gradient scaling is needed). It pays off on GPUs with
        bfloat16 units (NVIDIA Ampere and later) and CPUs with AVX512-BF16 or
        AMX; elsewhere it can be slower. Scores differ from float32 ones by
        bfloat16 rounding (about 3 significant digits). float16 autocast is not
        offered (it needs gradient scaling).
    contamination : "auto" or float, default="auto"
        Threshold rule for ``offset_`` (see :class:`ContrastiveASDEstimator`).
    random_state : int, RandomState instance or None, default=None
        Seeds torch and the validation split.
    verbose : int, default=0
        1 prints skorch's per-epoch table.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net.
    classes_ : ndarray
        A single placeholder class (sections are ignored).
    offset_ : float
        Threshold subtracted in ``decision_function``.
    history_ : skorch.callbacks.History
        Per-epoch losses.
    n_features_in_ : int
        Number of input features.
    n_frames_ : int
        Frames per clip seen in fit.
    n_epochs_ : int
        Epochs run.

    See Also
    --------
    ContrastiveASDEstimator : The seed system.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_asd import AutoencoderBaseline
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6, 4 * 10)).astype(np.float32)
    >>> det = AutoencoderBaseline(n_mels=4, max_epochs=2, random_state=0).fit(X)
    >>> det.anomaly_score(X).shape
    (6,)
    """

    _parameter_constraints: dict = {
        **_NeuralDetector._common_constraints,
        "n_stack": [Interval(Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "bottleneck_dim": [Interval(Integral, 1, None, closed="left")],
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
    }

    _uses_sections = False

    def __init__(
        self,
        *,
        n_mels=128,
        n_stack=5,
        hidden_dim=128,
        bottleneck_dim=8,
        n_hidden=4,
        max_epochs=100,
        batch_size=512,
        lr=1e-3,
        validation_fraction=None,
        device="cpu",
        precision="float32",
        contamination="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_mels = n_mels
        self.n_stack = n_stack
        self.hidden_dim = hidden_dim
        self.bottleneck_dim = bottleneck_dim
        self.n_hidden = n_hidden
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.device = device
        self.precision = precision
        self.contamination = contamination
        self.random_state = random_state
        self.verbose = verbose

    def _score_key(self):
        return "ae"

    def _items_per_clip(self, n_frames):
        if n_frames < self.n_stack:
            raise ValueError(
                f"clips have {n_frames} frames, fewer than n_stack={self.n_stack}"
            )
        return n_frames - self.n_stack + 1

    def _train_dataset(self, S, labels, idx):
        from sklearn_asd._net import _FrameStackDataset

        return _FrameStackDataset(S[idx], self.n_stack)

    def _build_net(self, S, labels, device, aug_seed, split_seed):
        from sklearn_asd.models import FrameStackAutoencoder

        module = FrameStackAutoencoder(
            self.n_stack * self.n_mels,
            hidden_dim=self.hidden_dim,
            bottleneck_dim=self.bottleneck_dim,
            n_hidden=self.n_hidden,
        )
        return self._make_net(module, S, labels, device, split_seed, terms=["recon"])

    def _anomaly_scores(self, S, idx):
        import torch

        module = self.net_.module_
        module.eval()
        per_clip = S.shape[2] - self.n_stack + 1
        clips_per_chunk = max(1, 4096 // per_clip)
        out = np.empty(S.shape[0], dtype=np.float64)
        with torch.inference_mode(), self._autocast():
            # fixed-size (padded) chunks: a clip's score never depends on the
            # other clips scored with it
            for rows, chunk in _padded_chunks(S, clips_per_chunk):
                # (c, n_mels, per_clip, n_stack) -> frame-major vectors
                vec = chunk.unfold(2, self.n_stack, 1).permute(0, 2, 3, 1)
                vec = vec.reshape(-1, self.n_stack * self.n_mels).to(self.net_.device)
                err = _mse(module(vec), vec, dim=1)
                err = err.reshape(chunk.shape[0], per_clip).mean(dim=1).numpy()
                out[rows] = err[: rows.stop - rows.start]
        return out
