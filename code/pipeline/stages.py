"""The stages as ``datalad containers-run`` (or ``datalad run``) calls of papermill.

stages.yaml declares each stage (declaration.py). Values come from the notebook's parameters
cell (the defaults), then the params file, then ``-p``. Everything a stage reads is an
``--input`` and everything it writes an ``--output`` of the run record, so ``datalad rerun``
fetches, unlocks and recomputes exactly those files.
"""
from __future__ import annotations

import contextlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from container import callformat
from imageclf.classifiers import USES, main_parameter, unused_knobs

from . import checks, commands, lock, process, recovery
from .git import git
from .checks import StageError
from .declaration import Stage, declared_parameters, declared_stage, notebook_defaults
from .errors import EXIT_FAILED, EXIT_INTERRUPTED

CONTAINER = "software"
EXECUTED_DIR = "executed"
FAILED_DIR = f"{EXECUTED_DIR}/failed"  # git-ignored: where a failed run's notebook is kept


@dataclass(frozen=True)
class StageRun:
    """One stage with its parameters resolved: everything needed to build the datalad call."""

    spec: Stage
    params: dict  # every parameter: the notebook's default, then the params file, then -p
    defaults: dict  # the notebook's parameters cell
    overrides: tuple[tuple[str, object], ...]  # (name, value typed, or the mapping/list it gave)
    params_file: str  # the papermill -f file

    @property
    def stage(self) -> str:
        return self.spec.name

    @property
    def notebook(self) -> str:
        return self.spec.notebook

    @property
    def executed(self) -> str:
        return self.spec.executed

    def input_folders(self) -> list[str]:
        if not self.spec.input_folders:
            return []
        keys = self.params[self.spec.input_folders["one_per_key_of"]]
        return [f"{template.format_map(self.params)}/{key}"
                for template in self.spec.input_folders["in"] for key in keys]

    def inputs(self) -> list[str]:
        return [self.params_file, self.notebook, *self.input_folders(),
                *(self.params[name] for name in self.spec.inputs)]

    def outputs(self) -> list[str]:
        return [*(self.params[name] for name in self.spec.outputs), self.executed]

    def message(self) -> str:
        p = self.params
        knob = main_parameter(str(p.get("classifier")))
        derived = {
            "labels": ", ".join(str(label) for label in dict(p.get("categories") or {}).values()),
            "main_parameter": f"{knob}={p.get(knob)}",
            "changed_settings": "".join(f", {name}={p[name]}" for name in self.spec.changed_settings
                                        if p[name] != self.defaults[name]),
        }
        return self.spec.message.format_map({**p, **derived})

    def papermill_args(self) -> list[str]:
        return papermill_args(self.spec, self.params_file, self.overrides)

    def papermill_command(self) -> str:
        return shlex.join(self.papermill_args())

    def datalad_command(self, container: str = CONTAINER) -> list[str]:
        return datalad_call(self.message(), self.inputs(), self.outputs(),
                            escape_placeholders(self.papermill_command()), container)


def datalad_call(message: str, inputs: list[str], outputs: list[str], command: str,
                 container: str = CONTAINER) -> list[str]:
    """``datalad containers-run`` of a shell command in ``container`` (``datalad run`` for
    "none"), declaring what it reads and writes."""
    if container == "none":
        args = ["datalad", "run"]
    else:
        args = ["datalad", "containers-run", "-n", container]
    args += ["-m", message]
    args += [arg for path in inputs for arg in ("--input", path)]
    args += [arg for path in outputs for arg in ("--output", path)]
    return [*args, command]


def escape_placeholders(command: str) -> str:
    """datalad fills {inputs}, {outputs}, ... into the command with str.format: double every
    brace so that parameter values reach papermill exactly as given."""
    return command.replace("{", "{{").replace("}", "}}")


def papermill_args(spec: Stage, params_file: str | None = None, overrides=()) -> list[str]:
    """The papermill call of a stage, run from the dataset root."""
    # --log-output echoes the cells' output (progress, accuracy) to the terminal as they run;
    # the stable engine (code/papermill_stable) writes no timestamps into the notebook.
    args = ["papermill", spec.notebook, spec.executed, "-f", params_file or spec.params,
            "-k", "python3", "--log-output", "--engine", "stable"]
    for name, value in overrides:
        if isinstance(value, str):
            args += ["-p", name, value]
        else:  # a mapping or list: papermill's -p would pass it on as a string
            args += ["-y", json.dumps({name: value}, ensure_ascii=False)]
    return args


def plan(root: Path, stage: str, overrides: list[tuple[str, str]] = (),
         params_file: str | None = None) -> StageRun:
    """Resolve a stage's parameters (notebook defaults, its params file, ``-p``) and check them."""
    spec = declared_stage(root, stage)
    declared = declared_parameters(root, stage)
    defaults = notebook_defaults(spec, declared)
    named = bool(params_file)
    params_file = params_file or spec.params
    params = checks.read_params_file(root, params_file, named=named)
    # Each -p value as papermill's command line will pass it (its own type rules, not YAML's).
    given = [(name, checks.resolve_override(declared, name, value)) for name, value in overrides]
    params.update(given)
    checks.check_parameters(declared, stage, params)
    resolved = {**defaults, **params}
    if "categories" in resolved:
        checks.check_categories(resolved["categories"])
    # papermill gets a scalar as typed (-p) and a mapping or list as parsed (-y).
    passed = tuple((name, parsed if isinstance(parsed, (dict, list)) else typed)
                   for (name, typed), (_, parsed) in zip(overrides, given))
    planned = StageRun(spec=spec, params=resolved, defaults=defaults, overrides=passed,
                       params_file=params_file)
    for path in planned.inputs():
        checks.require_inside(root, path, "input")
    for path in planned.outputs():
        checks.require_inside(root, path, "output")
        checks.require_output_is_a_file(root, path)
        checks.require_output_kept_by_git(root, path)
        checks.require_output_outside_subdatasets(root, path)
    return planned


def input_files(root: Path, planned: StageRun) -> int:
    """How many files the run's ``--input`` paths hold, from git's index (subdatasets
    included): the total of the terminal's 'fetching inputs' bar."""
    listed = git(root, "ls-files", "--recurse-submodules", "-z", "--", *planned.inputs())
    return listed.count("\0")


def unsaved_changes(root: Path) -> list[str]:
    status = git(root, "status", "--porcelain", "--untracked-files=normal")
    return [line[3:] for line in status.splitlines() if line.strip()]


def require_clean(root: Path) -> None:
    changed = unsaved_changes(root)
    if changed:
        raise StageError(
            "The dataset has unsaved changes, and a run must start clean so that its record holds "
            f"only what the stage changed: {', '.join(changed)}. Save them "
            "(`datalad save -m 'why' PATH`) or undo them (`git reset -q HEAD -- PATH && "
            "git checkout HEAD -- PATH`, which also locks an annexed file again; delete a new "
            "file), then run again."
        )


def run(root: Path, stage: str, overrides: list[tuple[str, str]] = (), container: str = CONTAINER,
        dry_run: bool = False, params_file: str | None = None) -> StageRun:
    """Run one stage through datalad in the dataset at ``root``, printing the command first.

    The dataset's lock is held throughout; a run that fails or is interrupted is settled from
    the repository's state: recorded (datalad committed it) or undone.
    """
    planned = plan(root, stage, overrides, params_file)
    command = planned.datalad_command(container)
    given = list(dict.fromkeys(name for name, _ in overrides))  # -p twice: the last counts
    unused = unused_knobs(str(planned.params.get("classifier")), given)
    if unused:
        print(f"note: {planned.params['classifier']} does not read "
              f"{', '.join('-p ' + name for name in unused)}: recorded as given, it changes "
              f"nothing (it reads {', '.join(USES[planned.params['classifier']])}).")
    if dry_run:  # no data needed, nothing locked: only the outputs checked as a run would
        checks.require_outputs_recoverable(root, planned.outputs())
        commands.print_command(command)
        return planned
    checks.require_setup(root, container)
    with lock.hold(root):
        recovery.recover_unfinished(root)
        require_clean(root)
        checks.require_input_folders(root, planned.spec.input_folders, planned.params)
        checks.require_outputs_recoverable(root, planned.outputs())
        if container == "none":
            print("notice: CONTAINER=none runs the stage in this machine's .venv, not in the "
                  "software container; the run record then names no image.")
        (root / EXECUTED_DIR).mkdir(exist_ok=True)  # papermill writes into an existing folder
        state = recovery.begin(root, stage, planned.executed, planned.outputs(), FAILED_DIR)
        # A dataset registered with the older call format gets the outputs from here.
        with settled(root, state), callformat.outputs_given(planned.outputs()):
            commands.run(command, cwd=root, inputs=input_files(root, planned))
    return planned


@contextlib.contextmanager
def settled(root: Path, state: recovery.RunState):
    """Around a datalad call that recovery.begin wrote down: a failure or an interrupt leaves
    the dataset clean (the run recorded, or undone) and is raised as what happened."""
    try:
        yield
        recovery.end(root)
    except (commands.CommandFailed, KeyboardInterrupt) as error:
        with process.shielded():
            commit, kept = recovery.settle(root, state)
            recovery.end(root)
            raise outcome(root, state, error, commit, kept) from None


def outcome(root: Path, state: recovery.RunState, error: Exception, commit: str | None,
             kept: str | None) -> StageError:
    """The truth about a run that did not end normally, read from the repository; a rerun of
    several records keeps those it had recomputed since it started (``state.head``)."""
    what = state.name()[:1].upper() + state.name()[1:]  # "Stage train", "The rerun of ..."
    interrupted = isinstance(error, KeyboardInterrupt)
    signal_name = getattr(error, "signal_name", "SIGINT") if interrupted else ""
    how = f"was interrupted ({signal_name})" if signal_name else "failed"
    recomputed = [] if commit else git(root, "log", "--reverse", "--format=%h (%s)",
                                        f"{state.head}..HEAD").splitlines()
    if commit:
        subject = git(root, "log", "-1", "--format=%s", commit)
        message = (f"{what} {how} after datalad had recorded it: commit {commit[:8]} "
                   f"({subject}) holds its results.")
    elif recomputed:
        message = (f"{what} {how} after recomputing {len(recomputed)} record(s), kept: "
                   f"{'; '.join(recomputed)}. The record it was recomputing is undone and the "
                   "dataset is back to the last commit.")
    else:
        message = (f"{what} {how}; nothing was saved and the dataset is back to its last "
                   "commit (its earlier results are intact).")
    if kept and not commit:
        where = "stopped" if signal_name else "failed"
        message += f" The executed notebook, up to the cell where it {where}, is kept at {kept}."
    left = unsaved_changes(root)
    if left:
        message += (f" Still changed: {', '.join(left)}; `git reset -q HEAD -- PATH && git "
                    "checkout HEAD -- PATH` undoes a change.")
    error_out = StageError(message)
    error_out.exit_code = (getattr(error, "exit_code", EXIT_INTERRUPTED) if signal_name
                           else EXIT_FAILED)
    return error_out
