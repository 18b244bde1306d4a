"""``sweep sweeps/NAME.yaml -j N``: many parametrizations, each a job on a branch of its own.

A sweep file names a base params file per stage and the overrides of each job: a list of named
jobs, a grid (every combination of the values given), or both (each listed job crossed with the
grid). Each job runs in a throwaway clone on branch ``sweep/NAME/JOB`` with the same commands a
single run uses (``python -m pipeline run STAGE -f FILE -p NAME VALUE``), as in the FAIRly-big
workflow; jobs.py runs them, run.py merges them, this module reads the file and the command.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import load_yaml
from ..errors import PipelineError

STAGES = ("prepare", "train", "evaluate")
SWEEP_DIR = "sweeps"
RESULTS_DIR = "results/sweeps"  # git-ignored: the summary table and plot the sweep writes
MAX_EXIT_FAILED = 100  # the exit code is the number of failed jobs, up to this
FILE_KEYS = {"description", "params", "set", "jobs", "grid"}


class SweepError(PipelineError):
    """A sweep file or command that cannot be run as written; the message says what to change."""


@dataclass(frozen=True)
class Job:
    """One parametrization: its name (the branch is sweep/SWEEP/NAME) and overrides per stage."""

    name: str
    overrides: dict = field(default_factory=dict)  # stage -> {parameter: value}

    def stage_overrides(self, stage: str) -> dict:
        return self.overrides.get(stage, {})

    def label(self) -> str:
        """The overrides as a reader writes them: ``classifier=sgd, max_iter=10``."""
        return ", ".join(f"{name}={value_name(value)}" for stage in STAGES
                         for name, value in self.stage_overrides(stage).items())


@dataclass(frozen=True)
class Sweep:
    name: str
    source: str  # the sweep file, relative to the dataset root
    params: dict  # stage -> base params file (papermill -f)
    jobs: tuple[Job, ...]
    description: str = ""

    def branch(self, job: Job) -> str:
        return f"sweep/{self.name}/{job.name}"

    @property
    def tag(self) -> str:
        return f"sweep/{self.name}"

    def prepare_key(self, job: Job, tree: str) -> str:
        """Jobs with the same prepare parameters on the same tree share one prepare result."""
        text = json.dumps([tree, self.params["prepare"], job.stage_overrides("prepare")],
                          ensure_ascii=False)  # order kept: categories order their labels
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def varying(self) -> list[tuple[str, str]]:
        """(stage, parameter) pairs whose value differs between jobs, in the file's order."""
        seen = []
        for job in self.jobs:
            for stage in STAGES:
                for name in job.stage_overrides(stage):
                    if (stage, name) not in seen:
                        seen.append((stage, name))
        missing = object()
        return [(stage, name) for stage, name in seen
                if len({json.dumps(job.stage_overrides(stage).get(name, missing), default=id)
                        for job in self.jobs}) > 1]


def value_name(value) -> str:
    """A value as a job name shows it: categories by their labels (``golf ball+parachute``)."""
    if isinstance(value, dict):
        return "+".join(str(label) for label in value.values())
    if isinstance(value, list):
        return "+".join(map(str, value))
    return str(value)


def ref_safe(text: str) -> str:
    """``golf ball+parachute`` -> ``golf-ball+parachute``: a branch name git accepts."""
    text = re.sub(r"[^A-Za-z0-9_.+=-]+", "-", text).strip("-.")
    return re.sub(r"\.{2,}", ".", text).removesuffix(".lock") or "job"


def grid_jobs(grid: dict, where: str) -> list[Job]:
    """Every combination of a grid ``{stage: {parameter: [values]}}``, named by its values."""
    axes = []
    for stage, parameters in grid.items():
        require_stage(stage, where)
        if not isinstance(parameters, dict) or not parameters:
            raise SweepError(f"{where}: grid.{stage} must map parameter names to lists of values, "
                             "such as `max_iter: [10, 100]`.")
        for name, values in parameters.items():
            if not isinstance(values, list) or not values:
                raise SweepError(f"{where}: grid.{stage}.{name} must be a list of values, such "
                                 f"as `{name}: [a, b]` (one value for all jobs belongs in `set:`).")
            axes.append([(stage, name, value) for value in values])
    jobs = []
    for combination in itertools.product(*axes) if axes else ():
        overrides: dict = {}
        for stage, name, value in combination:
            overrides.setdefault(stage, {})[name] = value
        jobs.append(Job("_".join(f"{name}-{value_name(value)}" for _, name, value in combination),
                        overrides))
    return jobs


def listed_jobs(jobs, where: str) -> list[Job]:
    """``jobs:`` as a mapping ``{NAME: {stage: {parameter: value}}}`` or a list of overrides."""
    if isinstance(jobs, dict):
        items = list(jobs.items())
    elif isinstance(jobs, list):
        items = [(None, overrides) for overrides in jobs]
    else:
        raise SweepError(f"{where}: `jobs` must map job names to overrides per stage, such as "
                         "`SGD-10: {train: {max_iter: 10}}`.")
    listed = []
    for name, overrides in items:
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            raise SweepError(f"{where}: job {name or overrides!r} must map stages to overrides, "
                             "such as `{train: {max_iter: 10}}`.")
        for stage, values in overrides.items():
            require_stage(stage, where)
            if not isinstance(values, dict):
                raise SweepError(f"{where}: job {name}: `{stage}` must map parameter names to "
                                 "values, such as `{max_iter: 10}`.")
        job = Job(str(name) if name is not None else "", {s: dict(v) for s, v in overrides.items()})
        listed.append(Job(job.name or ref_safe(job.label().replace(", ", "_")), job.overrides))
    return listed


def require_stage(stage, where: str) -> None:
    if stage not in STAGES:
        raise SweepError(f"{where}: {stage!r} is not a stage; overrides belong to one of "
                         f"{', '.join(STAGES)}.")


def combine(listed: list[Job], grid: list[Job]) -> list[Job]:
    """Each listed job crossed with each grid combination (either alone when the other is empty)."""
    if not listed or not grid:
        return listed or grid
    jobs = []
    for first, second in itertools.product(listed, grid):
        overrides = {stage: {**first.stage_overrides(stage), **second.stage_overrides(stage)}
                     for stage in STAGES
                     if first.stage_overrides(stage) or second.stage_overrides(stage)}
        jobs.append(Job(f"{first.name}_{second.name}", overrides))
    return jobs


def with_shared(shared: dict, overrides: dict) -> dict:
    """``set:`` overrides under a job's own (the job's win); stages in pipeline order."""
    merged = {stage: {**shared.get(stage, {}), **overrides.get(stage, {})} for stage in STAGES}
    return {stage: values for stage, values in merged.items() if values}


def parse(spec, source: str, name: str) -> Sweep:
    """A sweep from the mapping in a sweep file (``source`` names it in messages)."""
    if not isinstance(spec, dict):
        raise SweepError(f"{source} must hold a mapping with `jobs:` and/or `grid:`.")
    unknown = sorted(set(spec) - FILE_KEYS)
    if unknown:
        raise SweepError(f"{source}: unknown key(s) {', '.join(map(str, unknown))}; a sweep file "
                         f"has {', '.join(sorted(FILE_KEYS))}.")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise SweepError(f"{source}: `params` must map stages to params files, such as "
                         "`train: params/best/train.yaml`.")
    for stage in params:
        require_stage(stage, source)
    files = {stage: str(params.get(stage) or f"params/{stage}.yaml") for stage in STAGES}
    grid = spec.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepError(f"{source}: `grid` must map stages to parameters with lists of values.")
    jobs = combine(listed_jobs(spec.get("jobs") or {}, source), grid_jobs(grid, source))
    if not jobs:
        raise SweepError(f"{source} names no job: add `jobs:` (named overrides) or `grid:` "
                         "(lists of values to combine).")
    shared = spec.get("set") or {}
    if not isinstance(shared, dict) or not all(isinstance(v, dict) for v in shared.values()):
        raise SweepError(f"{source}: `set` must map stages to overrides every job shares, such as "
                         "`train: {max_iter: 100}`.")
    for stage in shared:
        require_stage(stage, source)
    sweep_name = ref_safe(name)
    renamed = [Job(ref_safe(job.name), with_shared(shared, job.overrides)) for job in jobs]
    names = [job.name for job in renamed]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SweepError(f"{source}: two jobs would share the branch name(s) {', '.join(twice)}: "
                         "give the jobs distinct names or values.")
    return Sweep(sweep_name, source, files, tuple(renamed), str(spec.get("description") or ""))


def load(root: Path, argument: str) -> Sweep:
    """The sweep named on the command line: a file (``sweeps/NAME.yaml``) or just NAME."""
    path = Path(argument)
    if not path.suffix:  # a bare NAME
        path = root / SWEEP_DIR / f"{argument}.yaml"
    full = path if path.is_absolute() else (Path.cwd() / path)
    if not full.is_file():
        full = root / path
    if not full.is_file():
        present = ", ".join(f"{SWEEP_DIR}/{p.name}"
                            for p in sorted((root / SWEEP_DIR).glob("*.yaml")))
        raise SweepError(f"No sweep file {argument}: name one of {present or 'sweeps/NAME.yaml'}.")
    full = full.resolve()
    try:
        source = full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise SweepError(f"{path} is outside the dataset: keep sweep files in {SWEEP_DIR}/ and "
                         "commit them, so that every job's record can name them.") from None
    return parse(load_yaml(full.read_text(), source), source, full.stem)


def add_parser(subparsers) -> None:
    """Register ``python -m pipeline sweep`` (called once from cli.py)."""
    import os

    command = subparsers.add_parser(
        "sweep", help="run many parametrizations as jobs in throwaway clones, one branch each")
    command.add_argument("sweep", metavar="SWEEP",
                         help="a sweep file (sweeps/NAME.yaml) or the NAME of one")
    command.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                         help="jobs to run at the same time (default 1)")
    command.add_argument("--summary", action="store_true",
                         help="print the table of the sweep's results, write it and its plot "
                              "to results/sweeps/; run nothing")
    command.add_argument("--container", default=os.environ.get("CONTAINER") or "software",
                         help="container to run in, or 'none' for .venv "
                              "(default: $CONTAINER or software)")
    command.add_argument("--scratch", default=os.environ.get("SWEEP_SCRATCH"),
                         help="folder for the jobs' throwaway clones, on the dataset's file "
                              "system (default: the dataset's .git/imageclf-sweeps)")
    command.add_argument("--ria", metavar="DIR", default=os.environ.get("SWEEP_RIA"),
                         help="results through RIA stores in DIR (input and output siblings, "
                              "the FAIRly-big way; --executor slurm's default: the dataset's "
                              ".git/imageclf-ria); without it local jobs push into the dataset")
    command.add_argument("--no-wait", action="store_true", help=argparse.SUPPRESS)
    from . import slurm_cli

    slurm_cli.add_options(command)  # --executor slurm and its options
    command.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from . import run as sweep_run, summary as sweep_summary

    sweep = load(args.root, args.sweep)
    if args.summary:
        print(sweep_summary.write(args.root, sweep), end="")
        return 0
    if args.jobs < 1:
        raise SweepError("-j needs a number of jobs of at least 1.")
    if args.executor == "slurm" or args.dry_run:
        from . import slurm_cli

        failed = slurm_cli.run(args, sweep)
        if args.dry_run:
            return 0
    else:
        failed = sweep_run.run(args.root, sweep, parallel=args.jobs, container=args.container,
                               scratch=args.scratch, ria=args.ria)
    print()
    print(sweep_summary.write(args.root, sweep), end="")
    return min(len(failed), MAX_EXIT_FAILED)
