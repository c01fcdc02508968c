"""Entry point of `bazel run` for a tfjs_model_server target.

  python tools/tfjs_server --manifest RUNFILE [--port 8000] [--host 127.0.0.1]

The manifest and every file it names are found in the runfiles with the
bazel-runfiles library.
"""

import os
import sys

if not __package__:
    # Run by path, as the launcher does: make the package importable.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tfjs_server import cli

sys.exit(cli.main())
