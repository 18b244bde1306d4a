"""``python -m pipeline``: the commands behind the Makefile's targets."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from imageclf.project import NotInDataset, find_root

from . import (checks, commands, compare, declaration, history, image, inputdata, lock, outcomes,
               overhead, process, recovery, report, stages, story, verify, workshop)
from .errors import EXIT_BUSY, EXIT_DIFFERENT, EXIT_FAILED, PipelineError
from .git import git
from .sweep import launcher, local, slurm, stores, summary, sweepfile
from .sweep.model import SweepError
from .sweep.slurm_batch import Resources

MAX_EXIT_FAILED = 100  # a sweep's exit code is the number of its failed jobs, up to this


def cmd_data(args: argparse.Namespace) -> None:
    inputdata.install(args.root)


def cmd_container(args: argparse.Namespace) -> None:
    if args.action == "setup" and not args.base and image.reuse_registered(args.root):
        return
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
    declared = declaration.names(args.root)
    for stage in args.stages:
        declaration.declared_stage(args.root, stage)  # an unknown name: refused before any runs
    if len(args.stages) != 1 and args.parameters:  # each -p goes to every stage run
        checks.require_every_stage_takes({stage: declaration.declared_parameters(args.root, stage)
                                          for stage in args.stages or declared}, args.parameters)
    for stage in args.stages or declared:
        stages.run(args.root, stage, overrides=args.parameters, container=args.container,
                   dry_run=args.dry_run, params_file=args.params_file)
    if every_stage and not args.dry_run:
        accuracy = json.loads((args.root / "accuracy.json").read_text())["accuracy"]
        print(f"\naccuracy: {accuracy:.4f}  (accuracy.json; executed notebooks in "
              f"{stages.EXECUTED_DIR}/)")


def cmd_tutorial(args: argparse.Namespace) -> None:
    """The handbook's whole story, resumable; then the comparison."""
    current = git(args.root, "branch", "--show-current")
    main = current if current and current != story.BRANCH else "main"
    story.Story(args.root, container=args.container, main=main).play()


def cmd_overhead(args: argparse.Namespace) -> None:
    checks.require_setup(args.root, args.container)  # it times the stages on the input data
    rows = overhead.measure(args.root, container=args.container)
    mean = sum(row["overhead"] for row in rows) / len(rows)
    print(f"mean containers-run overhead per stage: {mean:+.1f} s")


def cmd_compare(args: argparse.Namespace) -> None:
    history.require_revisions(args.root, args.revisions)
    found = compare.evaluations(args.root, args.revisions or None)
    if found.empty:
        print("No evaluations found: run the stages first (make tutorial).")
        return
    table = compare.select(found, args.where, args.sort)
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
    results = [c for revision in args.revisions for c in verify.verify(args.root, revision)]
    print("\n" + verify.summary(results))
    return 0 if all(c.identical for c in results) else EXIT_DIFFERENT


def cmd_report(args: argparse.Namespace) -> None:
    index = report.build(args.root, Path(args.output))
    print(f"\nopen {index} in a browser")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep's jobs without a result and merge them (or print its summary, or plan)."""
    found = sweepfile.load(args.root, args.sweep)
    if args.summary:
        print(summary.write(args.root, found), end="")
        return 0
    executor = sweep_executor(args)
    store = stores.for_sweep(args.root, args.ria, always=args.executor == "slurm")
    if args.dry_run:
        launcher.dry_run(args.root, found, executor, store, args.container, args.scratch)
        return 0
    failed = launcher.launch(args.root, found, executor, store, args.container, args.scratch)
    print()
    print(summary.write(args.root, found), end="")
    return min(len(failed), MAX_EXIT_FAILED)


def sweep_executor(args: argparse.Namespace):
    if args.jobs < 1:
        raise SweepError("-j needs a number of jobs of at least 1.")
    if args.executor == "local":
        if args.dry_run:
            raise SweepError("--dry-run prints the sbatch script: add --executor slurm.")
        return local.LocalExecutor(args.jobs)
    if args.jobs != 1:
        raise SweepError("-j is the local executor's: SLURM runs as many tasks at once as the "
                         "partition has room for (--cpus per task).")
    if args.cpus < 1:
        raise SweepError("--cpus needs a number of CPUs per task of at least 1.")
    return slurm.SlurmExecutor(Resources(args.partition, args.time, args.cpus, args.mem),
                               args.scratch)


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
                                  help="setup = build then register (or load the image "
                                       "the dataset tracks, if built from this recipe)")
    container_parser.add_argument(
        "--base", default=os.environ.get("BASE"),
        help="base image (default: official python:3.11-slim, else a debootstrapped Debian)")
    container_parser.set_defaults(func=cmd_container)

    run_parser = sub.add_parser(
        "run", parents=[in_container],
        help="run stages through datalad, printing each datalad command; with no stage: "
             "prepare, train and evaluate, then print the accuracy")
    run_parser.add_argument("stages", nargs="*", metavar="STAGE",
                            help="one or more of the stages stages.yaml declares (default: "
                                 "all, in its order)")
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

    sweep_parser = sub.add_parser(
        "sweep", parents=[in_container],
        help="run many parametrizations as jobs in throwaway clones, one branch each")
    add_sweep_options(sweep_parser)
    sweep_parser.set_defaults(func=cmd_sweep)
    workshop.add_parser(sub)  # a room on one server's JupyterHub (pipeline/workshop/)
    return cli


def add_sweep_options(command: argparse.ArgumentParser) -> None:
    """The sweep's own options, and what each SLURM task asks for (pipeline/sweep/)."""
    command.add_argument("sweep", metavar="SWEEP",
                         help="a sweep file (sweeps/NAME.yaml) or the NAME of one")
    command.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                         help="jobs to run at the same time (default 1)")
    command.add_argument("--summary", action="store_true",
                         help="print the table of the sweep's results, write it and its plot "
                              "to results/sweeps/; run nothing")
    command.add_argument("--scratch", default=os.environ.get("SWEEP_SCRATCH"),
                         help="folder for the jobs' throwaway clones, on the dataset's file "
                              "system (default: the dataset's .git/imageclf-sweeps)")
    command.add_argument("--ria", metavar="DIR", default=os.environ.get("SWEEP_RIA"),
                         help="results through RIA stores in DIR (input and output siblings, "
                              "the FAIRly-big way; --executor slurm's default: the dataset's "
                              ".git/imageclf-ria); without it local jobs push into the dataset")
    group = command.add_argument_group("SLURM (--executor slurm)")
    group.add_argument("--executor", choices=("local", "slurm"), default="local",
                       help="run the jobs here (local, -j at a time) or as SLURM array tasks "
                            "submitted with sbatch (slurm)")
    group.add_argument("--partition", default=Resources.partition,
                       help="partition of the tasks (default: the cluster's default)")
    group.add_argument("--time", default=Resources.time,
                       help=f"time limit per task (default {Resources.time})")
    group.add_argument("--cpus", type=int, default=Resources.cpus,
                       help=f"CPUs per task (default {Resources.cpus})")
    group.add_argument("--mem", default=Resources.mem,
                       help=f"memory per task (default {Resources.mem})")
    group.add_argument("--dry-run", action="store_true",
                       help="print the sbatch script and commands; submit nothing")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.root = find_root()
    except NotInDataset as error:  # imageclf's own error (it cannot import pipeline)
        return fail(error, EXIT_FAILED)
    process.handle_termination()  # SIGTERM and SIGHUP stop a run as Ctrl-C does (see __main__)
    writes = args.command in outcomes.WRITERS and not getattr(args, "dry_run", False)
    try:
        with lock.hold(args.root, wait=not args.no_wait) if writes else contextlib.nullcontext():
            try:
                commands.ensure_annex(args.root)
                if writes:
                    recovery.recover_unfinished(args.root)
                result = args.func(args) or 0
                process.ignore_signals()  # done: a late signal must not undo or hide the outcome
                return result
            except KeyboardInterrupt as stop:
                process.ignore_signals()
                # Outside a stage's own handling (between commands): settle a run cut short.
                if writes:  # only with the lock held: the marker may be another command's
                    recovery.recover_unfinished(args.root, previous=False)
                return fail(f"interrupted ({process.signal_name(stop)}). "
                            f"{recovery.where_things_stand(args.root)}", process.exit_code(stop))
    except KeyboardInterrupt as stop:  # while waiting for the lock: nothing was done
        return fail(f"interrupted ({process.signal_name(stop)}) while waiting for the dataset's "
                    "lock; nothing was changed.", process.exit_code(stop))
    except PipelineError as error:  # the user can fix it; anything else is a bug: a traceback
        return fail(error, error.exit_code)


def fail(message, exit_code: int) -> int:
    process.ignore_signals()  # the message must come out whole
    print(f"\nerror: {message}", file=sys.stderr)
    outcomes.note_error(message)
    return exit_code
