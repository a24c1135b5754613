"""``python -m runner.harness serve``: the harness's only command (see server.py)."""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m runner.harness", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="answer save/load requests (JSON lines on stdin)")
    serve.add_argument("--scenario-dir", required=True)
    serve.add_argument("--mode", choices=("fork", "fresh", "shared"), default="fork")
    serve.add_argument("--probe-timeout", type=float, default=float(os.environ.get("KC_PROBE_TIMEOUT") or 120.0))
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.error("the only command is: serve")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .server import serve as run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
