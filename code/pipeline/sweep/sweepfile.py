"""A sweep file (``sweeps/NAME.yaml``) read into a :class:`~.model.Sweep`.

It names a base params file per stage and the overrides of each job: a list of named jobs, a
grid (every combination of the values given), or both (each listed job crossed with the grid);
``set`` gives overrides every job shares. Its shape is checked against a JSON Schema whose
stage names are those of stages.yaml.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from .. import declaration, schema
from ..checks import load_yaml
from .model import Job, Sweep, SweepError, ref_safe, value_name

SWEEP_DIR = "sweeps"
FILE_KEYS = ("description", "params", "set", "jobs", "grid")


def file_schema(names: tuple[str, ...]) -> dict:
    """What a sweep file may hold, for a pipeline with the stages ``names``."""
    stage = {"enum": list(names), "x-error": "{value!r} is not a stage; overrides belong to one "
                                           "of {allowed}."}
    values = {"type": "object", "x-error": "must map parameter names to values, such as "
                                           "`{{max_iter: 10}}`."}
    per_stage = {"type": ["object", "null"], "propertyNames": stage, "additionalProperties": values,
                 "x-error": "must map stages to overrides, such as "
                            "`{{train: {{max_iter: 10}}}}`."}
    return {
        "type": "object", "additionalProperties": False,
        "x-error": {"type": "must hold a mapping with `jobs:` and/or `grid:`.",
                    "additionalProperties": "unknown key(s) {unknown}; a sweep file has "
                                            f"{', '.join(sorted(FILE_KEYS))}."},
        "properties": {
            "description": {"type": ["string", "null"]},
            "params": {"type": ["object", "null"], "propertyNames": stage,
                       "additionalProperties": {"type": "string"},
                       "x-error": "`params` must map stages to params files, such as "
                                  "`train: params/best/train.yaml`."},
            "set": {"type": ["object", "null"], "propertyNames": stage,
                    "additionalProperties": {**values, "x-error": "`set` must map stages to "
                                             "overrides every job shares, such as "
                                             "`train: {{max_iter: 100}}`."},
                    "x-error": "`set` must map stages to overrides every job shares, such as "
                               "`train: {{max_iter: 100}}`."},
            "jobs": {"type": ["object", "array", "null"], "additionalProperties": per_stage,
                     "items": per_stage,
                     "x-error": "`jobs` must map job names to overrides per stage, such as "
                                "`SGD-10: {{train: {{max_iter: 10}}}}`."},
            "grid": {"type": ["object", "null"], "propertyNames": stage,
                     "additionalProperties": {
                         "type": "object", "minProperties": 1,
                         "additionalProperties": {
                             "type": "array", "minItems": 1,
                             "x-error": "must be a list of values, such as `{key}: [a, b]` (one "
                                        "value for all jobs belongs in `set:`)."},
                         "x-error": "must map parameter names to lists of values, such as "
                                    "`max_iter: [10, 100]`."},
                     "x-error": "`grid` must map stages to parameters with lists of values."},
        },
    }


def grid_jobs(grid: dict) -> list[Job]:
    """Every combination of a grid ``{stage: {parameter: [values]}}``, named by its values."""
    axes = [[(stage, name, value) for value in values]
            for stage, parameters in grid.items() for name, values in parameters.items()]
    jobs = []
    for combination in itertools.product(*axes) if axes else ():
        overrides: dict = {}
        for stage, name, value in combination:
            overrides.setdefault(stage, {})[name] = value
        jobs.append(Job("_".join(f"{name}-{value_name(value)}" for _, name, value in combination),
                        overrides))
    return jobs


def listed_jobs(jobs) -> list[Job]:
    """``jobs:`` as a mapping ``{NAME: {stage: {parameter: value}}}`` or a list of overrides."""
    items = list(jobs.items()) if isinstance(jobs, dict) else [(None, o) for o in jobs]
    listed = []
    for name, overrides in items:
        job = Job("" if name is None else str(name),
                  {stage: dict(values) for stage, values in (overrides or {}).items()})
        listed.append(Job(job.name or ref_safe(job.label().replace(", ", "_")), job.overrides))
    return listed


def combine(listed: list[Job], grid: list[Job], names: tuple[str, ...]) -> list[Job]:
    """Each listed job crossed with each grid combination (either alone when the other is empty)."""
    if not listed or not grid:
        return listed or grid
    return [Job(f"{first.name}_{second.name}", with_shared(first.overrides, second.overrides,
                                                           names))
            for first, second in itertools.product(listed, grid)]


def with_shared(shared: dict, overrides: dict, names: tuple[str, ...]) -> dict:
    """``overrides`` over ``shared`` (the first win), stages in pipeline order."""
    merged = {stage: {**shared.get(stage, {}), **overrides.get(stage, {})} for stage in names}
    return {stage: values for stage, values in merged.items() if values}


def parse(spec, source: str, name: str, names: tuple[str, ...]) -> Sweep:
    """A sweep from the mapping in a sweep file (``source`` names it in messages) for a
    pipeline with the stages ``names``."""
    schema.check(spec, file_schema(names), source, SweepError)
    files = {stage: str((spec.get("params") or {}).get(stage) or f"params/{stage}.yaml")
             for stage in names}
    jobs = combine(listed_jobs(spec.get("jobs") or {}), grid_jobs(spec.get("grid") or {}), names)
    if not jobs:
        raise SweepError(f"{source} names no job: add `jobs:` (named overrides) or `grid:` "
                         "(lists of values to combine).")
    shared = {stage: values or {} for stage, values in (spec.get("set") or {}).items()}
    renamed = [Job(ref_safe(job.name), with_shared(shared, job.overrides, names)) for job in jobs]
    seen = [job.name for job in renamed]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise SweepError(f"{source}: two jobs would share the branch name(s) "
                         f"{schema.listed(twice)}: give the jobs distinct names or values.")
    return Sweep(ref_safe(name), source, files, tuple(renamed), str(spec.get("description") or ""))


def load(root: Path, argument: str) -> Sweep:
    """The sweep named on the command line: a file (``sweeps/NAME.yaml``) or just NAME."""
    path = Path(argument)
    if not path.suffix:  # a bare NAME
        path = root / SWEEP_DIR / f"{argument}.yaml"
    full = path if path.is_absolute() else (Path.cwd() / path)
    if not full.is_file():
        full = root / path
    if not full.is_file():
        present = [f"{SWEEP_DIR}/{p.name}" for p in sorted((root / SWEEP_DIR).glob("*.yaml"))]
        raise SweepError(f"No sweep file {argument}: name one of "
                         f"{schema.listed(present) or 'sweeps/NAME.yaml'}.")
    full = full.resolve()
    try:
        source = full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise SweepError(f"{path} is outside the dataset: keep sweep files in {SWEEP_DIR}/ and "
                         "commit them, so that every job's record can name them.") from None
    return parse(load_yaml(full.read_text(), source), source, full.stem, declaration.names(root))
