"""GridSearchCV on a dask.distributed cluster (issue #7).

One LocalCluster of two single-threaded worker processes serves the whole module.
Every test carries the ``slow`` marker (worker processes import torch) and a
pytest-timeout, so that a hang fails instead of blocking CI.

joblib's stock "dask" backend (joblib 1.6.0, distributed 2026.8.0) waits forever
when a worker process dies during a task: its result collector sets the error on
a future that joblib's callback-based retrieval never reads. ``_FailFastDask``
(the recipe in docs/scale-out.md) retrieves results in the main thread instead,
so the ``KilledWorker`` error reaches the caller.
"""

import os

import numpy as np
import pytest
import sklearn
import torch
from _configs import tiny_contrastive, tiny_mel
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_asd import ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.features import LogMelSpectrogram, MedianFilter
from sklearn_asd.metrics import auc_scorer, pauc_scorer

distributed = pytest.importorskip(
    "dask.distributed",
    reason="dask[distributed] is not installed (pip install 'sklearn-asd[dask]')",
)
import dask  # noqa: E402
import joblib  # noqa: E402
from joblib._dask import DaskDistributedBackend  # noqa: E402

pytestmark = pytest.mark.slow

N_MELS = 16
DET = tiny_contrastive(N_MELS)


class _FailFastDask(DaskDistributedBackend):
    """joblib's dask backend, with results retrieved in the main thread."""

    supports_retrieve_callback = False

    def retrieve_result(self, out, timeout=None):
        return self.retrieve_result_callback(out.get(timeout=timeout))


joblib.register_parallel_backend("dask-failfast", _FailFastDask)


class _TorchThreads(distributed.WorkerPlugin):
    """Pin torch's intra-op threads in every worker, restarted ones included."""

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def setup(self, worker):
        import torch

        torch.set_num_threads(self.n_threads)


@pytest.fixture(scope="module")
def client():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the local searches below use one thread too
    # the scheduler reads allowed-failures when it starts: a task whose worker
    # dies is not retried on another worker (which it would kill too)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(_TorchThreads(1))
        yield client
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def sounds():
    return make_machine_sounds(
        n_normal=16, n_anomalous=8, n_sections=2, duration=0.5, random_state=0
    )


def _pipeline(*extra):
    return Pipeline(
        [
            *extra,
            ("mel", LogMelSpectrogram(**tiny_mel(N_MELS))),
            ("mf", MedianFilter(kernel_size=(1, 3), n_mels=N_MELS)),
            ("det", ContrastiveASDEstimator(**DET)),
        ]
    )


def _mean_decision(estimator, X, y):
    """A continuous score, to compare the fitted models beyond AUC ranks."""
    return float(np.mean(estimator.decision_function(X)))


def _search(pipeline, grid, **params):
    return GridSearchCV(
        pipeline,
        grid,
        scoring={"pauc": pauc_scorer, "auc": auc_scorer, "mean": _mean_decision},
        refit="pauc",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        error_score="raise",
        **params,
    )


GRID = {"det__contrastive_weight": [0.0, 1.0]}


@pytest.fixture(scope="module")
def local_search(client, sounds):
    """The search run in this process, one fit after the other (n_jobs=1)."""
    with sklearn.config_context(enable_metadata_routing=True):
        return _search(_pipeline(), GRID, n_jobs=1).fit(
            sounds.data, sounds.target, sections=sounds.sections
        )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["dask", "dask-failfast"])
def test_grid_search_on_dask_equals_local(client, sounds, local_search, backend):
    """Check a search on the cluster gives the local search's test scores."""
    X, y, sections = sounds.data, sounds.target, sounds.sections
    local = local_search
    with (
        sklearn.config_context(enable_metadata_routing=True),
        joblib.parallel_backend(backend),
        distributed.get_task_stream(client) as tasks,
    ):
        remote = _search(_pipeline(), GRID).fit(X, y, sections=sections)
    # the 2 candidates x 2 folds were fitted and scored on the workers
    assert len(tasks.data) >= 4
    assert len({task["worker"] for task in tasks.data}) == 2
    assert client.run(torch.get_num_threads) == dict.fromkeys(
        client.scheduler_info()["workers"], 1
    )
    for metric in ("pauc", "auc", "mean"):
        for split in range(2):
            key = f"split{split}_test_{metric}"
            np.testing.assert_allclose(
                remote.cv_results_[key], local.cv_results_[key], rtol=0, atol=1e-6
            )
    # the comparison is not vacuous: the candidates score differently
    assert np.unique(local.cv_results_["split0_test_auc"]).size > 1
    assert remote.best_params_ == local.best_params_
    best = remote.best_estimator_.named_steps["det"]
    assert best.classes_.tolist() == ["00", "01"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["dask", "dask-failfast"])
def test_fit_error_in_a_worker_fails_the_search(client, sounds, backend):
    """Check an error raised inside a worker fails the search with that error."""
    X, y, sections = sounds.data, sounds.target, sounds.sections
    # 0.5-s clips have 63 frames: patches of 64 frames cannot be cut
    grid = {"det__patch_frames": [8, 64]}
    with (
        sklearn.config_context(enable_metadata_routing=True),
        joblib.parallel_backend(backend),
        pytest.raises(ValueError, match="fewer than patch_frames=64"),
    ):
        _search(_pipeline(), grid).fit(X, y, sections=sections)


class _ExitInWorker(TransformerMixin, BaseEstimator):
    """Kill the dask worker process that fits it (a crash, e.g. a segfault)."""

    def fit(self, X, y=None):
        try:
            distributed.get_worker()
        except ValueError:  # not in a worker: never kill the test process
            return self
        os._exit(1)

    def transform(self, X):
        return X


@pytest.mark.timeout(120)
def test_dying_worker_fails_the_search(client, sounds):
    """Check a worker that dies mid-fit fails the search instead of hanging.

    With the stock "dask" backend this search never returns (see the module
    docstring); the fail-fast backend raises the scheduler's KilledWorker.
    """
    X, y, sections = sounds.data, sounds.target, sounds.sections
    # the scheduler reports the dead worker as KilledWorker; when the client
    # forgets the batch first (timing of the worker's death), as a cancelled
    # future: either way the search fails instead of hanging
    cancelled = distributed.client.FutureCancelledError
    with (
        sklearn.config_context(enable_metadata_routing=True),
        joblib.parallel_backend("dask-failfast"),
        pytest.raises((distributed.KilledWorker, cancelled)) as raised,
    ):
        _search(
            _pipeline(("crash", _ExitInWorker())), {"det__contrastive_weight": [0.1]}
        ).fit(X, y, sections=sections)
    if raised.type is distributed.KilledWorker:
        assert "died" in str(raised.value)
