"""``python -m pipeline``: the commands behind the Makefile's targets."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from imageclf.project import NotInDataset, find_root

from . import (commands, compare, history, image, inputdata, lock, overhead, recovery, report,
               stages, story, sweep, verify)
from .errors import EXIT_BUSY, EXIT_DIFFERENT, EXIT_FAILED, EXIT_INTERRUPTED, PipelineError

# Commands that write to the dataset: each holds its lock (one writer per dataset).
WRITERS = {"data", "container", "run", "tutorial", "verify", "overhead"}


def cmd_data(args: argparse.Namespace) -> None:
    inputdata.install(args.root)


def cmd_container(args: argparse.Namespace) -> None:
    if args.action in ("build", "setup"):
        image.build(args.root, base=args.base)
    if args.action in ("register", "setup"):
        image.register(args.root)


def cmd_run(args: argparse.Namespace) -> None:
    """The stages named, or all three in order and then the accuracy."""
    every_stage = not args.stages
    if args.params_file and len(args.stages) != 1:
        raise stages.StageError("A params file belongs to one stage: run one stage with -f, "
                                "for example `run train -f params/best/train.yaml`.")
    for stage in args.stages or stages.STAGES:
        stages.run(args.root, stage, overrides=args.parameters, container=args.container,
                   dry_run=args.dry_run, params_file=args.params_file)
    if every_stage and not args.dry_run:
        accuracy = json.loads((args.root / "accuracy.json").read_text())["accuracy"]
        print(f"\naccuracy: {accuracy:.4f}  (accuracy.json; executed notebooks in "
              f"{stages.EXECUTED_DIR}/)")


def cmd_tutorial(args: argparse.Namespace) -> None:
    """The handbook's whole story, resumable; then the comparison."""
    current = commands.output(["git", "branch", "--show-current"], cwd=args.root)
    main = current if current and current != story.BRANCH else "main"
    story.Story(args.root, container=args.container, main=main).play()


def cmd_overhead(args: argparse.Namespace) -> None:
    rows = overhead.measure(args.root, container=args.container)
    mean = sum(row["overhead"] for row in rows) / len(rows)
    print(f"mean containers-run overhead per stage: {mean:+.1f} s")


def cmd_compare(args: argparse.Namespace) -> None:
    history.require_revisions(args.root, args.revisions)
    found = compare.evaluations(args.root, args.revisions or None)
    table = compare.select(found, args.where, args.sort)
    if found.empty:
        print("No evaluations found: run the stages first (make tutorial).")
        return
    if table.empty:
        print(f"None of the {len(found)} evaluations matches {' and '.join(args.where)}.")
        return
    text = compare.render(table, args.format)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    if args.plot:
        compare.plot(table, Path(args.plot))
        print(f"wrote {args.plot}")


def cmd_verify(args: argparse.Namespace) -> int:
    checks = [c for revision in args.revisions for c in verify.verify(args.root, revision)]
    print("\n" + verify.summary(checks))
    return 0 if all(c.identical for c in checks) else EXIT_DIFFERENT


def cmd_report(args: argparse.Namespace) -> None:
    index = report.build(args.root, Path(args.output))
    print(f"\nopen {index} in a browser")


def stage_name(text: str) -> str:
    # A type, not `choices`: Python 3.11's argparse checks an empty list of stages against them.
    if text not in stages.STAGES:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                         f"{', '.join(stages.STAGES)})")
    return text


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = cli.add_subparsers(dest="command", required=True)
    # Every command that runs stages takes the same --container option.
    in_container = argparse.ArgumentParser(add_help=False)
    in_container.add_argument("--no-wait", action="store_true",
                              help="if another command is writing to the dataset, stop at once "
                                   f"(exit code {EXIT_BUSY}) instead of waiting for it")
    in_container.add_argument("--container",
                              default=os.environ.get("CONTAINER") or stages.CONTAINER,
                              help="container to run in, or 'none' for this machine's .venv "
                                   "(default: $CONTAINER or software)")

    # The writers without --container take --no-wait alone.
    writer = argparse.ArgumentParser(add_help=False)
    writer.add_argument("--no-wait", action="store_true",
                        help=f"do not wait for another writer (exit {EXIT_BUSY})")

    data_parser = sub.add_parser(
        "data", parents=[writer],
        help="create the input dataset (download-url --archive) and clone it into data/raw")
    data_parser.set_defaults(func=cmd_data)

    container_parser = sub.add_parser("container", parents=[writer],
                                      help="build and/or register the software container")
    container_parser.add_argument("action", choices=["build", "register", "setup"],
                                  help="setup = build then register")
    container_parser.add_argument(
        "--base", default=os.environ.get("BASE"),
        help="base image (default: official python:3.11-slim, else a debootstrapped Debian)")
    container_parser.set_defaults(func=cmd_container)

    run_parser = sub.add_parser(
        "run", parents=[in_container],
        help="run stages through datalad, printing each datalad command; with no stage: "
             "prepare, train and evaluate, then print the accuracy")
    run_parser.add_argument("stages", nargs="*", type=stage_name, metavar="STAGE",
                            help=f"one or more of {', '.join(stages.STAGES)} (default: all, "
                                 "in that order)")
    run_parser.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append",
                            default=[], metavar=("NAME", "VALUE"),
                            help="one-off papermill override, recorded in the run command")
    run_parser.add_argument("-f", "--params-file", metavar="FILE",
                            help="papermill -f file instead of params/STAGE.yaml (committed, "
                                 "relative to the dataset root), for example "
                                 "params/best/train.yaml")
    run_parser.add_argument("--dry-run", action="store_true",
                            help="print the datalad command, run nothing")
    run_parser.set_defaults(func=cmd_run)

    tutorial_parser = sub.add_parser(
        "tutorial", parents=[in_container],
        help="replay the handbook's story (SGD-10, SGD-100, random forest) and compare")
    tutorial_parser.set_defaults(func=cmd_tutorial)

    compare_parser = sub.add_parser(
        "compare",
        help="every evaluation across branches and tags, with its parameters, data, image "
             "and metrics")
    compare_parser.add_argument("revisions", nargs="*",
                                help="refs or a range A..B (default: all branches and tags)")
    compare_parser.add_argument("--format", choices=["table", "markdown", "csv", "json"],
                                default="table")
    compare_parser.add_argument("--sort", help="column to sort by (metrics: best first)")
    compare_parser.add_argument("--where", action="append", default=[], metavar="NAME=VALUE",
                                help="keep rows where a column equals VALUE")
    compare_parser.add_argument("--output", help="write to this file instead of the terminal")
    compare_parser.add_argument("--plot", help="also write a PNG of accuracy per evaluation")
    compare_parser.set_defaults(func=cmd_compare)

    verify_parser = sub.add_parser(
        "verify", parents=[writer],
        help="rerun run records on a scratch branch; exit 0 only if every output is identical")
    verify_parser.add_argument("revisions", nargs="+",
                               help="a run commit, or a range A..B of them")
    verify_parser.set_defaults(func=cmd_verify)

    report_parser = sub.add_parser(
        "report", help="every executed notebook in the history as HTML, with an index")
    report_parser.add_argument("--output", default="results/report",
                               help="folder to write (default: results/report)")
    report_parser.set_defaults(func=cmd_report)

    overhead_parser = sub.add_parser(
        "overhead", parents=[in_container],
        help="time containers-run per stage against the same papermill call run directly")
    overhead_parser.set_defaults(func=cmd_overhead)

    sweep.add_parser(sub)  # its options live beside the sweep code (pipeline/sweep.py)
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.root = find_root()
    except NotInDataset as error:  # imageclf's own error (it cannot import pipeline)
        return fail(error, EXIT_FAILED)
    commands.handle_termination()  # SIGTERM and SIGHUP stop a run as Ctrl-C does (see __main__)
    writes = args.command in WRITERS and not getattr(args, "dry_run", False)
    try:
        with lock.hold(args.root, wait=not args.no_wait) if writes else contextlib.nullcontext():
            try:
                commands.ensure_annex(args.root)
                if writes:
                    recovery.recover_unfinished(args.root)
                result = args.func(args) or 0
                commands.ignore_signals()  # done: a late signal must not undo or hide the outcome
                return result
            except KeyboardInterrupt as stop:
                commands.ignore_signals()
                # Outside a stage's own handling (between commands): settle a run cut short.
                if writes:  # only with the lock held: the marker may be another command's
                    recovery.recover_unfinished(args.root, previous=False)
                return fail(f"interrupted ({signal_name(stop)}). "
                            f"{recovery.where_things_stand(args.root)}", interrupted_code(stop))
    except KeyboardInterrupt as stop:  # while waiting for the lock: nothing was done
        return fail(f"interrupted ({signal_name(stop)}) while waiting for the dataset's lock; "
                    "nothing was changed.", interrupted_code(stop))
    except PipelineError as error:  # the user can fix it; anything else is a bug: a traceback
        return fail(error, error.exit_code)


def signal_name(stop: KeyboardInterrupt) -> str:
    return getattr(stop, "signal_name", "SIGINT")  # commands.Interrupted says which; Ctrl-C not


def interrupted_code(stop: KeyboardInterrupt) -> int:
    return getattr(stop, "exit_code", EXIT_INTERRUPTED)


def fail(message, exit_code: int) -> int:
    commands.ignore_signals()  # the message must come out whole
    print(f"\nerror: {message}", file=sys.stderr)
    return exit_code
