"""The dev server's command line: flags, start-up errors, a clean Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys

import runfiles

from tfjs_server.server import make_server
from tfjs_server.site import SiteError, load_site

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bazel run //pkg:name.serve --",
        description="Serves converted TF.js models and a page that runs them.",
    )
    parser.add_argument("--manifest", required=True, help=argparse.SUPPRESS)
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind; 0.0.0.0 exposes the models to your network",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if not 0 <= arguments.port <= 65535:
        print(f"tfjs_model_server: --port must be 0-65535, not {arguments.port}", file=sys.stderr)
        return 2
    located = runfiles.Runfiles.Create()
    if located is None:
        print("tfjs_model_server: no runfiles found: start it with `bazel run`", file=sys.stderr)
        return 2
    try:
        with open(located.Rlocation(arguments.manifest) or arguments.manifest) as manifest:
            site = load_site(json.load(manifest), located.Rlocation)
    except (OSError, SiteError) as error:
        print(f"tfjs_model_server: {error}", file=sys.stderr)
        return 2
    try:
        server = make_server(site, arguments.host, arguments.port, verbose=not arguments.quiet)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(
                f"tfjs_model_server: port {arguments.port} on {arguments.host} is in use: "
                "pass --port=N (0 picks a free one)",
                file=sys.stderr,
            )
        else:
            print(
                f"tfjs_model_server: cannot listen on {arguments.host}:{arguments.port}: {error}",
                file=sys.stderr,
            )
        return 2
    host, port = server.server_address[:2]
    # A shell starts background jobs with SIGINT ignored: Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
    print(f"Serving {site.title} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("tfjs_model_server: stopped", flush=True)
    return 0
