"""Entry point: `python path/to/tfjs_converter/__main__.py` or `python -m tfjs_converter`."""

import os
import sys

if not __package__:
    # Run by path, as the Bazel actions do: make the package importable.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tfjs_converter import cli

sys.exit(cli.main())
