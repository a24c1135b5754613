"""``python -m runner``: the same as the ``keras-compat`` command (runner/cli.py)."""

import sys

from runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
