"""The sweep command's SLURM options and their checks (the executor itself: slurm.py)."""
from __future__ import annotations

import argparse

from . import Sweep, SweepError, slurm
from .slurm_batch import Resources


def add_options(command) -> None:
    """--executor slurm and what each task asks for (pipeline/sweep/slurm.py)."""
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


def run(args: argparse.Namespace, sweep: Sweep) -> list:
    if args.executor != "slurm":
        raise SweepError("--dry-run prints the sbatch script: add --executor slurm.")
    if args.jobs != 1:
        raise SweepError("-j is the local executor's: SLURM runs as many tasks at once as the "
                         "partition has room for (--cpus per task).")
    if args.cpus < 1:
        raise SweepError("--cpus needs a number of CPUs per task of at least 1.")
    resources = Resources(args.partition, args.time, args.cpus, args.mem)
    return slurm.run(args.root, sweep, args.container, resources, args.scratch, args.dry_run,
                     ria=args.ria)
