"""The converter's commands, `convert`, `reference` and `export`: their arguments, and running one.

Arguments may come from a params file (`@file`, one argument per line). On
success nothing is printed. On failure the error is printed; for bad input
(ConversionError) that is the message alone, for anything else the traceback
together with what TensorFlow logged. The entry point (`__main__`) runs one
command per process; the worker runs many.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from tfjs_converter import native_output
from tfjs_converter.errors import ConversionError
from tfjs_converter.options import (
    DEFAULT_WEIGHT_SHARD_SIZE_BYTES,
    QUANTIZATIONS,
    ConversionOptions,
    read_json_file,
    read_metadata,
    signature_options,
)

PROGRAM = "tfjs_converter"


def _key_value(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def _feedback(text: str) -> tuple[str, dict[str, str]]:
    signature, separator, pairs = text.partition(":")
    feed = dict(_key_value(pair) for pair in pairs.split(",") if pair)
    if not separator or not signature or not feed:
        raise argparse.ArgumentTypeError(f"expected SIGNATURE:INPUT=OUTPUT[,...], not {text!r}")
    return signature, feed


def _signature_setting(text: str) -> tuple[str, str]:
    signature, separator, setting = text.partition(":")
    if not separator or not signature or "=" not in setting:
        raise argparse.ArgumentTypeError(f"expected SIGNATURE:KEY=VALUE, not {text!r}")
    return signature, setting


def _bytes(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConversionError(f"{what} must be a whole number of bytes, not {text!r}") from None


def _tags(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(tag for tag in args.tags.split(",") if tag)


def _unique(pairs: Sequence[tuple[str, str]], what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in pairs:
        if key in result:
            raise ConversionError(f"{what} {key!r} is given twice")
        result[key] = value
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        fromfile_prefix_chars="@",
        description="Converts SavedModel signatures to TensorFlow.js graph models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser(
        "convert", help="convert signatures of a SavedModel, loading it once"
    )
    convert.add_argument("--saved_model_dir", required=True, type=Path)
    convert.add_argument(
        "--output",
        action="append",
        required=True,
        type=_key_value,
        metavar="SIGNATURE=DIR",
        help="convert SIGNATURE into DIR; repeat for more signatures",
    )
    convert.add_argument("--tags", default="serve", help="comma-separated MetaGraph tags")
    convert.add_argument("--quantization", choices=QUANTIZATIONS)
    convert.add_argument(
        "--quantization_pattern",
        action="append",
        metavar="PATTERN",
        help="quantize only weights whose names match; repeatable (default: all)",
    )
    convert.add_argument(
        "--weight_shard_size_bytes", type=int, default=DEFAULT_WEIGHT_SHARD_SIZE_BYTES
    )
    convert.add_argument("--strip_debug_ops", action="store_true")
    convert.add_argument("--skip_op_check", action="store_true")
    convert.add_argument("--nocontrol_flow_v2", dest="control_flow_v2", action="store_false")
    convert.add_argument(
        "--fft_as_matmul",
        action="store_true",
        help="compute RFFT and the complex values around it with real matrix products",
    )
    convert.add_argument(
        "--metadata",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=JSON_FILE",
        help="embed JSON_FILE as userDefinedMetadata[KEY]; repeatable",
    )
    convert.add_argument(
        "--signature_option",
        action="append",
        default=[],
        type=_signature_setting,
        metavar="SIGNATURE:KEY=VALUE",
        help="an option of one signature only (quantization, weight_shard_size_bytes, ...)",
    )
    convert.add_argument("--max_bytes", type=int, help="fail if all signatures exceed this size")
    convert.add_argument(
        "--signature_max_bytes",
        action="append",
        default=[],
        type=_key_value,
        metavar="SIGNATURE=BYTES",
        help="fail if SIGNATURE's model exceeds BYTES",
    )
    convert.add_argument(
        "--backend",
        action="append",
        default=[],
        dest="backends",
        help="fail if an op has no kernel on this TF.js backend; repeatable",
    )
    convert.add_argument("--report_json", type=Path, help="write report.json here")
    convert.add_argument("--report_markdown", type=Path, help="write report.md here")
    convert.add_argument("--report_title", default="TensorFlow.js model")
    convert.set_defaults(run=_run_convert, show_log_on_error=False)

    reference = commands.add_parser(
        "reference", help="run signatures in TensorFlow: the outputs TF.js must match"
    )
    reference.add_argument("--saved_model_dir", required=True, type=Path)
    reference.add_argument("--tags", default="serve", help="comma-separated MetaGraph tags")
    reference.add_argument("--signature", action="append", default=[], dest="signatures")
    reference.add_argument("--inputs", type=Path, help="JSON: signature -> input key -> tensor")
    reference.add_argument(
        "--feedback",
        action="append",
        default=[],
        type=_feedback,
        metavar="SIGNATURE:INPUT=OUTPUT[,INPUT=OUTPUT]",
        help="run SIGNATURE as a sequence, feeding OUTPUT back into INPUT",
    )
    reference.add_argument("--steps", type=int, default=8)
    reference.add_argument(
        "--samples", type=int, default=1, help="generated inputs per signature without feedback"
    )
    reference.add_argument("--output", required=True, type=Path)
    reference.set_defaults(run=_run_reference, show_log_on_error=False)

    export = commands.add_parser("export", help="run a SavedModel export script")
    export.add_argument("--script", required=True, type=Path)
    export.add_argument("--output_dir", required=True, type=Path)
    export.add_argument("--script_arg", action="append", default=[])
    export.set_defaults(run=_run_export, show_log_on_error=True)
    return parser


def conversion_request(args: argparse.Namespace):
    """The ConversionRequest that parsed `convert` arguments ask for."""
    from tfjs_converter.budget import Budget
    from tfjs_converter.convert import ConversionRequest

    options = ConversionOptions(
        quantization=args.quantization,
        quantization_patterns=tuple(args.quantization_pattern or ("*",)),
        weight_shard_size_bytes=args.weight_shard_size_bytes,
        strip_debug_ops=args.strip_debug_ops,
        skip_op_check=args.skip_op_check,
        control_flow_v2=args.control_flow_v2,
        fft_as_matmul=args.fft_as_matmul,
        metadata=read_metadata(_unique(args.metadata, "metadata key")),
    )
    outputs = _unique(args.output, "signature")
    settings: dict[str, list[str]] = {}
    for signature, setting in args.signature_option:
        settings.setdefault(signature, []).append(setting)
    budget = Budget(
        max_bytes=args.max_bytes,
        signature_max_bytes={
            signature: _bytes(limit, f"max_bytes of {signature!r}")
            for signature, limit in _unique(args.signature_max_bytes, "max_bytes of").items()
        },
        backends=tuple(args.backends),
    )
    return ConversionRequest(
        saved_model_dir=args.saved_model_dir,
        outputs={signature: Path(directory) for signature, directory in outputs.items()},
        tags=_tags(args),
        options=options,
        signature_options={
            signature: signature_options(options, signature, entries)
            for signature, entries in settings.items()
        },
        budget=budget,
        report_json=args.report_json,
        report_markdown=args.report_markdown,
        report_title=args.report_title,
    )


def _run_convert(args: argparse.Namespace, load) -> None:
    from tfjs_converter.convert import convert

    convert(conversion_request(args), load=load)


def _run_reference(args: argparse.Namespace, load) -> None:
    from tfjs_converter.reference import reference, write_reference
    from tfjs_converter.saved_model import load_saved_model

    given = read_json_file(args.inputs, "inputs") if args.inputs else None
    model = (load or load_saved_model)(args.saved_model_dir, _tags(args))
    data = reference(model, args.signatures, given, dict(args.feedback), args.steps, args.samples)
    write_reference(args.output, data)


def _run_export(args: argparse.Namespace, load) -> None:
    from tfjs_converter.export import export_saved_model

    export_saved_model(args.script, args.output_dir, args.script_arg)


def run_captured(args: argparse.Namespace, load=None, show_log: bool = False) -> tuple[bool, str]:
    """Runs a parsed command with its output captured.

    Args:
      args: the parsed command line.
      load: a SavedModel loader for `convert`, e.g. a worker's cache.
      show_log: report what TensorFlow logged even for bad input.

    Returns:
      (success, what to report): nothing on success, else the error message.
    """
    with native_output.captured_output() as captured:
        try:
            args.run(args, load)
            return True, ""
        except ConversionError as error:
            report = f"{PROGRAM}: error: {error}\n"
            show_log = show_log or args.show_log_on_error
        except Exception:  # noqa: BLE001 - a bug or a failing user script: report it whole
            report = traceback.format_exc()
            show_log = True
    if show_log:
        report = f"{captured.text()}{report}"
    return False, report


def run_once(argv: Sequence[str]) -> int:
    """Runs one command line; returns the process's exit status."""
    success, report = run_captured(build_parser().parse_args(argv))
    sys.stderr.write(report)
    return 0 if success else 1
