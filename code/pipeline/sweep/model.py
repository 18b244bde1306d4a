"""A sweep and its jobs: what a sweep file declares (sweepfile.py reads one), as plain data.

A sweep's ``params`` name a base params file per stage, in the pipeline's order (stages.yaml):
the first stage is the one jobs share (jobs with the same overrides of it start from one
result), the others run in each job.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from ..errors import PipelineError

RESULTS_DIR = "results/sweeps"  # git-ignored: the summary table and plot the sweep writes


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
        return ", ".join(f"{name}={value_name(value)}" for values in self.overrides.values()
                         for name, value in values.items())


@dataclass(frozen=True)
class Sweep:
    name: str
    source: str  # the sweep file, relative to the dataset root
    params: dict  # stage -> base params file (papermill -f), in the pipeline's order
    jobs: tuple[Job, ...]
    description: str = ""

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(self.params)

    @property
    def shared_stage(self) -> str:
        """The stage that jobs with the same overrides of it share (prepare)."""
        return self.stages[0]

    @property
    def job_stages(self) -> tuple[str, ...]:
        """The stages each job runs in its own clone (train, evaluate)."""
        return self.stages[1:]

    def branch(self, job: Job) -> str:
        return f"sweep/{self.name}/{job.name}"

    @property
    def tag(self) -> str:
        return f"sweep/{self.name}"

    def prepare_key(self, job: Job, tree: str) -> str:
        """Jobs with the same shared-stage parameters on the same tree share one result."""
        shared = self.shared_stage
        text = json.dumps([tree, self.params[shared], job.stage_overrides(shared)],
                          ensure_ascii=False)  # order kept: categories order their labels
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def varying(self) -> list[tuple[str, str]]:
        """(stage, parameter) pairs whose value differs between jobs, in the file's order."""
        seen = []
        for job in self.jobs:
            for stage in self.stages:
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
