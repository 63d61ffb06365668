import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from _configs import tiny_contrastive, tiny_mel
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_asd import AutoencoderBaseline, ContrastiveASDEstimator
from sklearn_asd.datasets import make_machine_sounds
from sklearn_asd.export import (
    _frontend_tables,
    _median_index,
    _modules,
    _scoring_graph,
    _unpack,
    export_onnx,
)
from sklearn_asd.features import (
    AudioLoader,
    BandStatistics,
    LogMelSpectrogram,
    MedianFilter,
)

N_MELS = 16
MEL_PARAMS = tiny_mel(N_MELS)
# lr=1e-2: scores spread over a range wider than the tolerances
PARAMS = tiny_contrastive(N_MELS, lr=1e-2)
# ONNX Runtime (or the torch module to export) vs the estimator. The estimator
# scores fixed-size chunks of clips, the graph the whole batch at once, and
# float32 kernels differ with the batch size and the runtime in the last bits of
# the logits; the seed score is a difference of logits and the graph averages
# it in float32 (the estimator in float64). Measured with these configurations
# (scores within about [-1.2, 1.6]): up to 6.2e-5 with score_mode="shared" and
# the front end, up to 8e-6 otherwise.
TOL = {"rtol": 1e-4, "atol": 1e-4}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sounds():
    # 12 clips of 0.5 s: 63 frames of 16 mel bands
    return make_machine_sounds(
        n_normal=8, n_anomalous=4, n_sections=2, duration=0.5, random_state=0
    )


@pytest.fixture(scope="module")
def dual_pipe(sounds):
    """Log-mel + 3x5 median filter + the dual-branch detector (score_hop=3)."""
    pipe = Pipeline(
        [
            ("mel", LogMelSpectrogram(**MEL_PARAMS)),
            ("mf", MedianFilter(kernel_size=(3, 5), n_mels=N_MELS)),
            ("det", ContrastiveASDEstimator(**PARAMS, score_hop=3)),
        ]
    )
    return pipe.fit(sounds.data, det__sections=sounds.sections)


@pytest.fixture(scope="module")
def cnn_pipe(sounds):
    """Log-mel + the MobileNetV2 baseline (branches="cnn"), no median filter."""
    pipe = Pipeline(
        [
            ("mel", LogMelSpectrogram(**MEL_PARAMS)),
            ("det", ContrastiveASDEstimator(**PARAMS, branches="cnn")),
        ]
    )
    return pipe.fit(sounds.data, det__sections=sounds.sections)


@pytest.fixture(scope="module")
def single_det(sounds):
    """Dual-branch detector fitted on one section: scores with the AE branch."""
    X = LogMelSpectrogram(**MEL_PARAMS).fit_transform(sounds.data)
    det = ContrastiveASDEstimator(**PARAMS).fit(X)
    assert det.score_branch_ == "ae"
    return det, X


def _section_index(det, sections):
    return np.array([det.classes_.tolist().index(s) for s in sections], dtype=np.int64)


def _expected(pipe, waves, sections):
    """Scores of the fitted pipeline's detector (DCASE sign)."""
    X = pipe[:-1].transform(waves)
    return pipe[-1].anomaly_score(X, sections=sections)


def _run_module(graph, x, section):
    with torch.no_grad():
        score, scores = graph(torch.from_numpy(x), torch.from_numpy(section))
    return score.numpy(), scores.numpy()


def _session(model_or_path):
    ort = pytest.importorskip(
        "onnxruntime", reason="onnxruntime is needed to run exported models"
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not isinstance(model_or_path, str):
        model_or_path = model_or_path.SerializeToString()
    return ort.InferenceSession(model_or_path, options)


def _onnx_or_skip():
    pytest.importorskip("onnx", reason="onnx is needed by export_onnx")
    pytest.importorskip("onnxscript", reason="onnxscript is needed by export_onnx")
    pytest.importorskip(
        "onnxruntime", reason="onnxruntime is needed to run exported models"
    )


# --------------------------------------------------- the torch graph (no export)
@pytest.mark.parametrize("pipe_name", ["dual_pipe", "cnn_pipe"])
@pytest.mark.parametrize("score_mode", ["patches", "shared"])
@pytest.mark.parametrize("include_frontend", [False, True])
def test_graph_module_matches_estimator(
    request, sounds, pipe_name, score_mode, include_frontend
):
    """Check the module to export reproduces anomaly_score for every setting."""
    pipe = copy.deepcopy(request.getfixturevalue(pipe_name))
    det = pipe[-1].set_params(score_mode=score_mode)
    graph, branch, mode = _scoring_graph(
        *_unpack(pipe, include_frontend), include_frontend
    )
    assert (branch, mode) == ("cnn", score_mode)
    x = sounds.data if include_frontend else pipe[0].transform(sounds.data)
    index = _section_index(det, sounds.sections)
    expected = _expected(pipe, sounds.data, sounds.sections)
    assert np.ptp(expected) > 1e-2  # a real spread of scores, not a constant
    score, scores = _run_module(graph, x, index)
    np.testing.assert_allclose(score, expected, **TOL)
    for j, section in enumerate(det.classes_):
        np.testing.assert_allclose(
            scores[:, j],
            _expected(pipe, sounds.data, [section] * len(x)),
            **TOL,
        )
    best, _ = _run_module(graph, x, np.full(len(x), -1, dtype=np.int64))
    np.testing.assert_allclose(best, _expected(pipe, sounds.data, None), **TOL)


def test_graph_module_ae_branch(single_det):
    """Check the autoencoder-branch fallback is reproduced (same in every column)."""
    det, X = single_det
    graph, branch, mode = _scoring_graph(None, [], det, False)
    assert (branch, mode) == ("ae", "patches")
    score, scores = _run_module(graph, X, np.zeros(len(X), dtype=np.int64))
    np.testing.assert_allclose(score, det.anomaly_score(X), **TOL)
    assert scores.shape == (len(X), 1)


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "wrap"])
@pytest.mark.parametrize("kernel_size", [(1, 5), (3, 3), (5, 1), (3, 7)])
def test_median_filter_module_matches_transformer(rng, mode, kernel_size):
    """Check the in-graph median filter equals MedianFilter (scipy) exactly."""
    MedianFilter2d = _modules()[1]
    n_mels, n_frames = 4, 6  # kernels as large as the map: every border case
    X = rng.normal(size=(3, n_mels * n_frames)).astype(np.float32)
    step = MedianFilter(kernel_size=kernel_size, n_mels=n_mels, mode=mode).fit(X)
    module = MedianFilter2d(_median_index(n_mels, n_frames, kernel_size, mode))
    with torch.no_grad():
        got = module(torch.from_numpy(X.reshape(3, n_mels, n_frames))).numpy()
    np.testing.assert_array_equal(got.reshape(3, -1), step.transform(X))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pad_mode": "constant"},
        {"pad_mode": "edge"},
        {"pad_mode": "symmetric"},
        {"pad_mode": "wrap"},
        {"center": False},
        {"power": 1.0, "fmin": 100.0, "fmax": 6000.0},
        {"n_fft": 255, "hop_length": 128},
    ],
)
def test_frontend_module_matches_log_mel(sounds, params):
    """Check the float32 DFT front end matches LogMelSpectrogram within 1e-3 dB."""
    LogMelFrontEnd = _modules()[0]
    mel = LogMelSpectrogram(**{**MEL_PARAMS, **params}).fit(sounds.data)
    index, basis, mel_basis = _frontend_tables(mel, sounds.data.shape[1])
    front = LogMelFrontEnd(
        index,
        basis,
        mel_basis,
        hop_length=mel.hop_length,
        power=mel.power,
        pad_zero=mel.center and mel.pad_mode == "constant",
    )
    with torch.no_grad():
        got = front(torch.from_numpy(sounds.data)).numpy()
    expected = mel.transform(sounds.data)
    assert got.shape == (len(expected), mel.n_mels_, mel.n_frames_)
    np.testing.assert_allclose(got.reshape(len(expected), -1), expected, atol=1e-3)


def test_frontend_module_silence_hits_the_floor():
    """Check silent clips give the transformer's floor, 10 log10(eps) dB."""
    LogMelFrontEnd = _modules()[0]
    waves = np.zeros((2, 4000), dtype=np.float32)
    mel = LogMelSpectrogram(**MEL_PARAMS).fit(waves)
    front = LogMelFrontEnd(
        *_frontend_tables(mel, 4000), hop_length=128, power=2.0, pad_zero=False
    )
    with torch.no_grad():
        got = front(torch.from_numpy(waves)).numpy().reshape(2, -1)
    np.testing.assert_allclose(got, mel.transform(waves), rtol=1e-6)


@pytest.mark.network
def test_frontend_module_on_real_clips(shared_datasets):
    """Check the float32 front end on real DCASE clips (DCASE default features)."""
    paths = sorted(shared_datasets.glob("dcase2020t2-dev-lite/*/test/*.wav"))[::9]
    assert len(paths) >= 4
    waves = AudioLoader(duration=10.0).fit_transform([str(p) for p in paths])
    mel = LogMelSpectrogram().fit(waves)  # n_mels=128, n_fft=1024, hop 512
    front = _modules()[0](
        *_frontend_tables(mel, waves.shape[1]),
        hop_length=512,
        power=2.0,
        pad_zero=False,
    )
    with torch.no_grad():
        got = front(torch.from_numpy(waves)).numpy().reshape(len(waves), -1)
    # measured on all 95 shared clips: at most 5.3e-4 dB
    np.testing.assert_allclose(got, mel.transform(waves), atol=5e-3)


# ------------------------------------------------------------ ONNX exports
@pytest.fixture(scope="module")
def dual_onnx(dual_pipe, tmp_path_factory):
    """Waveform-input export (front end + median filter) with a dynamic batch."""
    _onnx_or_skip()
    path = str(tmp_path_factory.mktemp("onnx") / "dual.onnx")
    model = export_onnx(dual_pipe, path, include_frontend=True)
    return path, model


@pytest.fixture(scope="module")
def cnn_shared_onnx(cnn_pipe):
    """Feature-input export of the CNN baseline with score_mode="shared".

    A fixed batch of 5: exporting a dynamic batch costs twice the time, and the
    dynamic batch is tested with the waveform export.
    """
    _onnx_or_skip()
    det = copy.deepcopy(cnn_pipe[-1]).set_params(score_mode="shared")
    return det, export_onnx(det, None, batch_size=5)


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_waveform_input_matches_pipeline(dual_onnx, dual_pipe, sounds, batch):
    """Check ONNX Runtime scores of waveforms equal the pipeline's, any batch."""
    path, _ = dual_onnx
    session = _session(path)
    det = dual_pipe[-1]
    waves, sections = sounds.data[-batch:], sounds.sections[-batch:]
    score, scores = session.run(
        None, {"waveform": waves, "section": _section_index(det, sections)}
    )
    assert score.shape == (batch,)
    assert scores.shape == (batch, len(det.classes_))
    np.testing.assert_allclose(score, _expected(dual_pipe, waves, sections), **TOL)
    for j, section in enumerate(det.classes_):
        np.testing.assert_allclose(
            scores[:, j], _expected(dual_pipe, waves, [section] * batch), **TOL
        )
    best, _ = session.run(
        None, {"waveform": waves, "section": np.full(batch, -1, dtype=np.int64)}
    )
    np.testing.assert_allclose(best, _expected(dual_pipe, waves, None), **TOL)


def test_onnx_metadata_round_trip(dual_onnx, dual_pipe, sounds):
    """Check the metadata read back from the file describe the detector."""
    import onnx

    path, model = dual_onnx
    det = dual_pipe[-1]
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta == {p.key: p.value for p in model.metadata_props}
    assert meta == _session(path).get_modelmeta().custom_metadata_map

    import sklearn_asd

    assert meta["sklearn_asd_version"] == sklearn_asd.__version__
    assert json.loads(meta["sections"]) == det.classes_.tolist() == ["00", "01"]
    assert (int(meta["n_mels"]), int(meta["n_frames"])) == (N_MELS, 63)
    assert (int(meta["sr"]), int(meta["n_samples"])) == (16000, 8000)
    assert meta["input"] == "waveform"
    assert meta["score_sign"] == "higher_is_more_anomalous"
    assert (meta["score_branch"], meta["score_mode"]) == ("cnn", "patches")
    assert json.loads(meta["median_filters"]) == [[3, 5, "nearest"]]
    assert json.loads(meta["log_mel"])["pad_mode"] == "reflect"
    threshold = float(meta["threshold"])
    assert threshold == -det.offset_
    # the documented rule "anomalous when score > threshold" is predict's rule,
    # checked with a threshold in the middle of the ONNX scores
    score, _ = _session(path).run(
        None,
        {"waveform": sounds.data, "section": _section_index(det, sounds.sections)},
    )
    det = copy.deepcopy(det)
    det.offset_ = -float(np.median(score))
    expected = det.predict(
        dual_pipe[:-1].transform(sounds.data), sections=sounds.sections
    )
    clear = np.abs(score + det.offset_) > 1e-5  # clips not at the threshold
    assert clear.sum() >= 10 and set(expected[clear]) == {-1, 1}
    np.testing.assert_array_equal(
        np.where(score > -det.offset_, -1, 1)[clear], expected[clear]
    )
    assert [i.name for i in model.graph.input] == ["waveform", "section"]
    assert [o.name for o in model.graph.output] == ["anomaly_score", "section_scores"]


def test_onnx_cnn_shared_feature_input(cnn_shared_onnx, cnn_pipe, sounds):
    """Check the feature-input export of branches="cnn", score_mode="shared"."""
    det, model = cnn_shared_onnx
    batch = 5
    X = cnn_pipe[0].transform(sounds.data)[:batch]
    sections = sounds.sections[:batch]
    session = _session(model)
    score, scores = session.run(
        None, {"log_mel": X, "section": _section_index(det, sections)}
    )
    np.testing.assert_allclose(score, det.anomaly_score(X, sections=sections), **TOL)
    assert scores.shape == (batch, 2)
    meta = {p.key: p.value for p in model.metadata_props}
    assert (meta["input"], meta["score_mode"]) == ("log_mel", "shared")
    assert "sr" not in meta


def test_onnx_ae_branch_fixed_batch(single_det):
    """Check the AE-branch export, a fixed batch size and the requested opset."""
    det, X = single_det
    model = export_onnx(det, None, batch_size=3, opset=18)
    assert model.opset_import[0].version == 18
    session = _session(model)
    score, scores = session.run(
        None, {"log_mel": X[:3], "section": np.zeros(3, dtype=np.int64)}
    )
    np.testing.assert_allclose(score, det.anomaly_score(X[:3]), **TOL)
    np.testing.assert_array_equal(scores[:, 0], score)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["score_branch"] == "ae"
    assert json.loads(meta["sections"]) == [0]
    with pytest.raises(Exception, match=r"(?i)dimension"):  # fixed batch of 3
        session.run(None, {"log_mel": X[:5], "section": np.zeros(5, dtype=np.int64)})


# ------------------------------------------------------------------- errors
def test_unfitted_raises_not_fitted_error(dual_pipe):
    """Check an unfitted detector or step raises NotFittedError."""
    with pytest.raises(NotFittedError):
        export_onnx(ContrastiveASDEstimator(), None)
    with pytest.raises(NotFittedError):
        export_onnx(
            Pipeline(
                [("mel", LogMelSpectrogram(**MEL_PARAMS)), ("det", dual_pipe[-1])]
            ),
            None,
        )


@pytest.mark.parametrize(
    "estimator, match",
    [
        (AutoencoderBaseline(), "ending in AutoencoderBaseline"),
        (IsolationForest(), "ending in IsolationForest"),
        (
            Pipeline(
                [
                    ("mel", LogMelSpectrogram(n_mels=N_MELS)),
                    ("stats", BandStatistics(n_mels=N_MELS)),
                    ("det", ContrastiveASDEstimator()),
                ]
            ),
            "'stats' \\(BandStatistics\\)",
        ),
        (
            Pipeline(
                [
                    ("mel", LogMelSpectrogram(n_mels=N_MELS)),
                    ("load", AudioLoader()),
                    ("det", ContrastiveASDEstimator()),
                ]
            ),
            "'load' \\(AudioLoader\\)",
        ),
    ],
)
def test_unsupported_estimator_or_step_raises_value_error(dual_pipe, estimator, match):
    """Check unsupported detectors and Pipeline steps raise a clear ValueError."""
    if isinstance(estimator, Pipeline):  # a fitted detector, so the step is at fault
        estimator = Pipeline([*estimator.steps[:-1], ("det", dual_pipe[-1])])
    with pytest.raises(ValueError, match=match):
        export_onnx(estimator, None)


def test_frontend_needs_log_mel_step(dual_pipe):
    """Check include_frontend=True without a LogMelSpectrogram raises."""
    with pytest.raises(ValueError, match="needs a Pipeline with a LogMelSpectrogram"):
        export_onnx(dual_pipe[-1], None, include_frontend=True)


def test_parameters_changed_after_fit_raise(dual_pipe):
    """Check a step whose shape no longer matches the detector raises."""
    pipe = copy.deepcopy(dual_pipe)
    pipe[0].set_params(hop_length=64)  # more frames than the detector saw
    with pytest.raises(ValueError, match="refit the pipeline"):
        export_onnx(pipe, None, include_frontend=True)


@pytest.mark.parametrize(
    "params", [{"opset": 17}, {"batch_size": 0}, {"include_frontend": "yes"}]
)
def test_invalid_parameters(dual_pipe, params):
    """Check invalid opset, batch_size and include_frontend are rejected."""
    with pytest.raises(InvalidParameterError):
        export_onnx(dual_pipe, None, **params)


def test_opset_newer_than_onnx_raises(dual_pipe):
    """Check an opset the installed onnx does not know raises a ValueError."""
    _onnx_or_skip()
    with pytest.raises(ValueError, match="opset=999 is newer than the installed"):
        export_onnx(dual_pipe, None, opset=999)


def test_missing_onnx_raises_import_error(dual_pipe, monkeypatch):
    """Check a missing onnxscript says how to install the extra."""
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r"pip install sklearn-asd\[onnx\]"):
        export_onnx(dual_pipe, None)


def test_audio_loader_and_passthrough_steps_are_skipped(dual_pipe):
    """Check a leading AudioLoader and passthrough steps stay out of the graph."""
    pipe = Pipeline(
        [("load", AudioLoader()), ("nothing", "passthrough"), *dual_pipe.steps]
    )
    log_mel, filters, det = _unpack(pipe, True)
    assert log_mel is dual_pipe[0]
    assert filters == [dual_pipe[1]]
    assert det is dual_pipe[-1]


def test_import_does_not_load_torch_or_onnx():
    """Check importing sklearn_asd.export imports neither torch nor onnx."""
    code = (
        "import sys, sklearn_asd, sklearn_asd.export; "
        "bad = [m for m in ('torch', 'onnx', 'onnxscript') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
