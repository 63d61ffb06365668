# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""The seed system's detector, public as ``sklearn_asd.estimator`` (private).

:class:`ContrastiveASDEstimator`: dual-branch (MobileNetV2 + autoencoder)
contrastive training, and the CNN branch's score back-ends (the seed's softmax
score, k-NN and Mahalanobis distances of clip embeddings).
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from sklearn_asd._neural import (
    _FITTED_SIZES,
    _POSITIVE_INT,
    _PRECISION,
    _SCORE_BATCH,
    _mse,
    _NeuralDetector,
    _padded_chunks,
)
from sklearn_asd.augment import AugmentationChain
from sklearn_asd.utils._detector import _CONTAMINATION
from sklearn_asd.utils._docstring import _substitute

__all__ = ["ContrastiveASDEstimator"]

# A tiny fitted detector: the Examples of ContrastiveASDEstimator and export_onnx
_FIT_EXAMPLE = """
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
"""


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


@_substitute(
    precision=_PRECISION,
    contamination=_CONTAMINATION,
    fitted_sizes=_FITTED_SIZES,
    example=_FIT_EXAMPLE,
)
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
    {precision}
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
    {contamination}
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
    {fitted_sizes}

    See Also
    --------
    AutoencoderBaseline : The DCASE autoencoder baseline.

    Examples
    --------
    {example}
    >>> det.classes_.tolist(), det.score_branch_
    (['a', 'b'], 'cnn')
    >>> det.anomaly_score(X[:3], sections=["a", "a", "a"]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_NeuralDetector._common_constraints,
        "patch_frames": _POSITIVE_INT,
        "patch_hop": _POSITIVE_INT,
        "score_hop": [*_POSITIVE_INT, None],
        "score_mode": [StrOptions({"patches", "shared"})],
        "width": [Interval(Real, 0, None, closed="neither")],
        "last_channel": _POSITIVE_INT,
        "embedding_dim": _POSITIVE_INT,
        "ae_hidden_dim": _POSITIVE_INT,
        "ae_bottleneck_dim": _POSITIVE_INT,
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_loss": [StrOptions({"seed", "infonce"})],
        "augmentation": [AugmentationChain, None],
        "branches": [StrOptions({"dual", "cnn"})],
        "score_branch": [StrOptions({"auto", "cnn", "ae"})],
        "score_method": [StrOptions({"softmax", "knn", "mahalanobis"})],
        "n_neighbors": _POSITIVE_INT,
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

    # ------------------------------------------------------------------- scoring
    def _clip_scorer(self, branch, network=None):
        """Return the torch scorer of ``branch`` ("cnn" or "ae") for the settings.

        The same module scores in :meth:`anomaly_score` and in the graph of
        :func:`~sklearn_asd.export.export_onnx`. ``network`` defaults to the
        fitted net's branch.
        """
        from sklearn_asd.models._scoring import _ClipScorer

        cnn = branch == "cnn"
        if network is None:
            network = self._cnn() if cnn else self.net_.module_.ae
        return _ClipScorer(
            network,
            branch=branch,
            mode=self.score_mode if cnn else "patches",
            n_frames=self.n_features_in_ // self.n_mels,
            patch_frames=self.patch_frames,
            hop=self.patch_hop if self.score_hop is None else self.score_hop,
            n_classes=len(self.classes_),
        )

    def _scoring_batches(self, S, scorer):
        """Yield ``(rows, clips)``: fixed-size chunks of clips on the net's device.

        ``_SCORE_BATCH`` patches per pass (``score_mode="shared"``: clips of up
        to 32 windows each).
        """
        per_clip = 32 if scorer.mode == "shared" else scorer.n_patches
        for rows, chunk in _padded_chunks(S, max(1, _SCORE_BATCH // per_clip)):
            yield rows, chunk.to(self.net_.device)

    def _cnn_outputs(self, cnn, S):
        """One pass of the CNN branch ``cnn`` over whole clips.

        Returns ``(seed, logits, embedding)``: the seed score of every class
        (patch mean of ``logsumexp(z_{j != s}) - z_s``, shape ``(n, C)``), the
        patch-mean logits ``(n, C)`` and the patch-mean embedding ``(n, D)``.
        """
        import torch

        from sklearn_asd.models._scoring import _others_mask, _seed_scores

        scorer = self._clip_scorer("cnn", cnn).to(self.net_.device).eval()
        n, n_classes = S.shape[0], len(self.classes_)
        seed = np.empty((n, n_classes), dtype=np.float64)
        mean_logits = np.empty((n, n_classes), dtype=np.float64)
        embedding = None
        others = _others_mask(n_classes)
        with torch.inference_mode(), self._autocast():
            for rows, x in self._scoring_batches(S, scorer):
                z, emb = scorer.cnn_outputs(x)
                z, emb = z.float().cpu(), emb.float().cpu()
                k = rows.stop - rows.start
                seed[rows] = _seed_scores(z, others, torch.float64).numpy()[:k]
                mean_logits[rows] = z.double().mean(dim=1).numpy()[:k]
                if embedding is None:
                    embedding = np.empty((n, emb.shape[2]), dtype=np.float32)
                embedding[rows] = emb.mean(dim=1).numpy()[:k]
        return seed, mean_logits, embedding

    def _ae_scores(self, S):
        """Mean over patches of the autoencoder branch's reconstruction MSE."""
        import torch

        from sklearn_asd.models._scoring import _clip_mean

        scorer = self._clip_scorer("ae").to(self.net_.device).eval()
        out = np.empty(S.shape[0], dtype=np.float64)
        with torch.inference_mode(), self._autocast():
            for rows, x in self._scoring_batches(S, scorer):
                patches = scorer.patches(x)
                recon, _ = scorer.network(patches)
                err = _mse(recon, patches, dim=(1, 2, 3))
                err = _clip_mean(err, scorer.n_patches).numpy()
                out[rows] = err[: rows.stop - rows.start]
        return out

    # ------------------------------------------------------------------- fitting
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
