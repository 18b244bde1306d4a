"""``python -m pipeline``: the commands behind the Makefile's targets."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from . import (commands, compare, container, engine, inputdata, lock, overhead, recovery, report,
               stages, story, sweep, verify)

# Commands that write to the dataset: each holds its lock (one writer per dataset).
WRITERS = {"data", "container", "run", "pipeline", "tutorial", "verify", "overhead"}


def find_root(start: Path | None = None) -> Path:
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / ".datalad" / "config").is_file() and (folder / "notebooks").is_dir():
            return folder
    raise SystemExit("error: run this inside the tutorial dataset (a folder with .datalad/ and notebooks/).")


def cmd_data(args: argparse.Namespace) -> None:
    inputdata.install(args.root)


def cmd_container(args: argparse.Namespace) -> None:
    if args.action in ("build", "setup"):
        container.build(args.root, base=args.base)
    if args.action in ("register", "setup"):
        container.register(args.root)


def cmd_run(args: argparse.Namespace) -> None:
    if args.params_file and len(args.stages) > 1:
        raise stages.StageError("A params file belongs to one stage: run one stage with -f, "
                                f"for example `run train -f params/best/train.yaml`.")
    for stage in args.stages:
        stages.run(args.root, stage, overrides=args.parameters, container=args.container,
                   dry_run=args.dry_run, params_file=args.params_file)


def cmd_pipeline(args: argparse.Namespace) -> None:
    """All three stages in order, then the accuracy."""
    for stage in stages.STAGES:
        stages.run(args.root, stage, container=args.container)
    accuracy = json.loads((args.root / "accuracy.json").read_text())["accuracy"]
    print(f"\naccuracy: {accuracy:.4f}  (accuracy.json; executed notebooks in {stages.EXECUTED_DIR}/)")


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
    table = compare.select(compare.evaluations(args.root, args.revisions or None), args.where, args.sort)
    if table.empty:
        print("No evaluations found: run the stages first (make tutorial).")
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
    print("\n" + verify.report(checks))
    return 0 if all(c.identical for c in checks) else 4


def cmd_report(args: argparse.Namespace) -> None:
    index = report.build(args.root, Path(args.output))
    print(f"\nopen {index} in a browser")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = cli.add_subparsers(dest="command", required=True)
    # Every command that runs stages takes the same --container option.
    in_container = argparse.ArgumentParser(add_help=False)
    in_container.add_argument("--no-wait", action="store_true",
                              help="if another command is writing to the dataset, stop at once "
                                   f"(exit code {lock.EXIT_BUSY}) instead of waiting for it")
    in_container.add_argument("--container", default=os.environ.get("CONTAINER") or stages.CONTAINER,
                              help="container to run in, or 'none' for this machine's .venv "
                                   "(default: $CONTAINER or software)")

    # The writers without --container take --no-wait alone.
    writer = argparse.ArgumentParser(add_help=False)
    writer.add_argument("--no-wait", action="store_true", help=f"do not wait for another writer (exit {lock.EXIT_BUSY})")

    data = sub.add_parser("data", parents=[writer], help="create the input dataset (download-url --archive) and clone it into data/raw")
    data.set_defaults(func=cmd_data)

    image = sub.add_parser("container", parents=[writer], help="build and/or register the software container")
    image.add_argument("action", choices=["build", "register", "setup"], help="setup = build then register")
    image.add_argument("--base", default=os.environ.get("BASE"), help="base image (default: official python:3.11-slim, else a debootstrapped Debian)")
    image.set_defaults(func=cmd_container)

    run = sub.add_parser("run", parents=[in_container], help="run stages through datalad, printing each datalad command")
    run.add_argument("stages", nargs="+", choices=stages.STAGES)
    run.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="one-off papermill override, recorded in the run command")
    run.add_argument("-f", "--params-file", metavar="FILE",
                     help="papermill -f file instead of params/STAGE.yaml (committed, relative to the "
                          "dataset root), for example params/best/train.yaml")
    run.add_argument("--dry-run", action="store_true", help="print the datalad command, run nothing")
    run.set_defaults(func=cmd_run)

    pipeline = sub.add_parser("pipeline", parents=[in_container], help="prepare, train and evaluate, then print the accuracy")
    pipeline.set_defaults(func=cmd_pipeline)

    tutorial = sub.add_parser("tutorial", parents=[in_container], help="replay the handbook's story (SGD-10, SGD-100, random forest) and compare")
    tutorial.set_defaults(func=cmd_tutorial)

    table = sub.add_parser("compare", help="every evaluation across branches and tags, with its parameters, data, image and metrics")
    table.add_argument("revisions", nargs="*", help="refs or a range A..B (default: all branches and tags)")
    table.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")
    table.add_argument("--sort", help="column to sort by (metrics: best first)")
    table.add_argument("--where", action="append", default=[], metavar="NAME=VALUE", help="keep rows where a column equals VALUE")
    table.add_argument("--output", help="write to this file instead of the terminal")
    table.add_argument("--plot", help="also write a PNG of accuracy per evaluation")
    table.set_defaults(func=cmd_compare)

    check = sub.add_parser("verify", parents=[writer], help="rerun run records on a scratch branch; exit 0 only if every output is identical")
    check.add_argument("revisions", nargs="+", help="a run commit, or a range A..B of them")
    check.set_defaults(func=cmd_verify)

    pages = sub.add_parser("report", help="every executed notebook in the history as HTML, with an index")
    pages.add_argument("--output", default="results/report", help="folder to write (default: results/report)")
    pages.set_defaults(func=cmd_report)

    cost = sub.add_parser("overhead", parents=[in_container], help="time containers-run per stage against the same papermill call run directly")
    cost.set_defaults(func=cmd_overhead)
    sweep.add_parser(sub)
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.root = find_root()
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
                return fail(f"interrupted ({getattr(stop, 'signal_name', 'SIGINT')}). "
                            f"{recovery.where_things_stand(args.root)}", getattr(stop, "exit_code", 130))
    except lock.DatasetBusy as error:
        return fail(error, lock.EXIT_BUSY)
    except KeyboardInterrupt as stop:  # while waiting for the lock: nothing was done
        return fail(f"interrupted ({getattr(stop, 'signal_name', 'SIGINT')}) while waiting for the "
                    "dataset's lock; nothing was changed.", getattr(stop, "exit_code", 130))
    except (stages.StageError, commands.CommandFailed, engine.EngineError, ValueError) as error:
        return fail(error, getattr(error, "exit_code", 1))


def fail(message, exit_code: int) -> int:
    commands.ignore_signals()  # the message must come out whole
    print(f"\nerror: {message}", file=sys.stderr)
    return exit_code
