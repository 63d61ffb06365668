# Authors: The sklearn_asd developers
# SPDX-License-Identifier: BSD-3-Clause
"""``sklearn-asd export``: a saved model's scoring graph as an ONNX model."""

from sklearn_asd.cli._common import _check_output_file, _positive_int

__all__ = []

#: What an interrupted ``export`` leaves behind.
INTERRUPTED = "; no ONNX file was written"


def add_parser(subparsers):
    """Add the ``export`` sub-command to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "export",
        help="write a saved model's scoring graph as an ONNX model",
        description=(
            "Export the scoring graph of MODEL (median filters, detector and the "
            "seed score; with --include-frontend also the log-mel front end, so "
            "that the ONNX model takes waveforms) to an ONNX file, as "
            "sklearn_asd.export.export_onnx does. Needs the onnx extra: "
            'pip install "sklearn-asd[onnx]".'
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model file from 'train'")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="ONNX file to write"
    )
    parser.add_argument(
        "--include-frontend",
        action="store_true",
        help="put the log-mel front end in the graph (input: waveforms)",
    )
    parser.add_argument(
        "--opset", type=_positive_int, metavar="N", help="ONNX opset (>= 18)"
    )
    return parser


def run(args, out, err):
    """Run ``export``; return the exit status."""
    from sklearn_asd.export import export_onnx
    from sklearn_asd.persistence import load_model

    _check_output_file(args.out, "--out")
    pipeline = load_model(args.model)
    model = export_onnx(
        pipeline, args.out, include_frontend=args.include_frontend, opset=args.opset
    )
    meta = {p.key: p.value for p in model.metadata_props}
    print(
        f"wrote {args.out}: input {meta['input']!r}, sections {meta['sections']}, "
        f"threshold {float(meta['threshold']):.6g} (scores above it are anomalous)",
        file=out,
    )
    return 0
