"""The command line: `python -m explorer COMMAND ...`.

Each command is one module in this package exposing `HELP` (one line),
`add_arguments(parser)` and `run(args) -> int` (the exit code). Only the command being run
adds its arguments (a lab's are generated from its config, whose module may import torch),
so `--help` and the commands that compute nothing stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module in explorer.cli
COMMANDS = {
    "levels": "levels",
    "verify": "verify",
    "prune": "prune",
    "train": "train",
    "runs": "runs",
    "lottery": "lottery",
    "earlybird": "earlybird",
    "stability": "stability",
    "spectrum": "spectrum",
    "regions": "regions",
    "lessons": "lessons",
    "serve": "serve",
}


class CliError(Exception):
    """An error to print as one line (no traceback) with exit code 2."""


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; the arguments only of the one `argv` names (all of them when `argv` is None)."""
    parser = argparse.ArgumentParser(prog="python -m explorer",
                                     description="DAG-DNN Explorer: networks as DAGs, lifting matrices, pruning, retraining.")
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"explorer.cli.{module}")
        except ModuleNotFoundError as e:
            if e.name == f"explorer.cli.{module}":
                continue  # command not built yet
            raise
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        if chosen is None or chosen == name:
            mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    if args.command not in ("runs", "lessons", "serve"):  # the commands that compute: threads chosen, not torch's default
        from explorer.runtime.device import use_threads

        use_threads("cli")
    try:
        return int(args._run(args) or 0)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, FileNotFoundError) as e:
        # Library errors carry a message that names what is wrong and the fix.
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
