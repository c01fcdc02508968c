"""The converter's one entry point: `python tfjs_converter/__main__.py`, `python -m tfjs_converter`.

... COMMAND ARGS          one command (convert, reference, export), one process
... --persistent_worker   a Bazel persistent worker running many commands
"""

import os
import sys

if not __package__:
    # Run by path, as the Bazel actions do: make the package importable.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str]) -> int:
    if "--persistent_worker" in argv:
        from tfjs_converter import worker

        return worker.main()
    from tfjs_converter import commands

    return commands.run_once(argv)


sys.exit(main(sys.argv[1:]))
