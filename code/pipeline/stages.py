"""The three stages as ``datalad containers-run`` (or ``datalad run``) calls of papermill.

A stage is a notebook (notebooks/NAME.ipynb), its committed parameters (params/NAME.yaml,
passed with papermill's ``-f``) and the executed copy papermill writes (executed/NAME.ipynb).
Everything a stage reads is an ``--input`` and everything it writes an ``--output`` of the run
record, so ``datalad rerun`` fetches, unlocks and recomputes exactly those files.
"""
from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import commands

STAGES = ("prepare", "train", "evaluate")
CONTAINER = "software"
EXECUTED_DIR = "executed"
FAILED_DIR = f"{EXECUTED_DIR}/failed"  # git-ignored: where a failed run's notebook is kept


class StageError(ValueError):
    """A stage cannot run as asked; the message says what to change."""


@dataclass(frozen=True)
class StageRun:
    """One stage with its parameters resolved: everything needed to build the datalad call."""

    stage: str
    params: dict  # params file merged with the overrides
    overrides: tuple[tuple[str, str], ...]  # (name, value) as typed, for papermill's -p
    raw_dir: str  # from params/prepare.yaml: where the category folders are
    categories: tuple[str, ...]
    splits: dict  # role ("train"/"test") -> Imagenette split folder
    params_file: str = ""  # the papermill -f file; params/STAGE.yaml unless another one is named

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.stage}.ipynb"

    @property
    def executed(self) -> str:
        return f"{EXECUTED_DIR}/{self.stage}.ipynb"

    def image_folders(self, *roles: str) -> list[str]:
        return [f"{self.raw_dir}/{self.splits[role]}/{folder}" for role in roles
                for folder in self.categories]

    def inputs(self) -> list[str]:
        p = self.params
        data = {
            "prepare": self.image_folders("train", "test"),
            "train": [p.get("train_csv", "data/train.csv"), p.get("train_pixels", "data/train-pixels.npy")],
            "evaluate": [p.get("test_csv", "data/test.csv"), p.get("test_pixels", "data/test-pixels.npy"),
                         p.get("model_file", "model.joblib")],
        }[self.stage]
        return [self.params_file, self.notebook, *data]

    def outputs(self) -> list[str]:
        p = self.params
        results = {
            "prepare": [p.get("train_csv", "data/train.csv"), p.get("test_csv", "data/test.csv"),
                        p.get("train_pixels", "data/train-pixels.npy"), p.get("test_pixels", "data/test-pixels.npy")],
            "train": [p.get("model_file", "model.joblib")],
            "evaluate": [p.get("accuracy_file", "accuracy.json"), p.get("metrics_file", "metrics.json")],
        }[self.stage]
        return [*results, self.executed]

    def message(self) -> str:
        p = self.params
        if self.stage == "prepare":
            labels = ", ".join(str(label) for label in p.get("categories", {}).values())
            return f"Prepare train and test tables for {labels}"
        if self.stage == "train":
            knob = {"random-forest": f"n_estimators={p.get('n_estimators')}",
                    "svm": f"C={p.get('C')}"}.get(p.get("classifier"), f"max_iter={p.get('max_iter')}")
            extra = "".join(f", {name}={p[name]}" for name in ("features", "augment")
                            if p.get(name, "raw" if name == "features" else "none") not in ("raw", "none"))
            return (f"Train {p.get('classifier')} classifier ({knob}{extra}, "
                    f"random_state={p.get('random_state')})")
        return f"Evaluate {p.get('model_file', 'model.joblib')} on {p.get('test_csv', 'data/test.csv')}"

    def papermill_command(self) -> str:
        return shlex.join(papermill_args(self.stage, self.params_file, self.overrides))

    def datalad_command(self, container: str = CONTAINER) -> list[str]:
        if container == "none":
            args = ["datalad", "run"]
        else:
            args = ["datalad", "containers-run", "-n", container]
        args += ["-m", self.message()]
        for path in self.inputs():
            args += ["--input", path]
        for path in self.outputs():
            args += ["--output", path]
        return args + [self.papermill_command()]


def default_params_file(stage: str) -> str:
    return f"params/{stage}.yaml"


def papermill_args(stage: str, params_file: str | None = None, overrides=()) -> list[str]:
    """The papermill call of a stage, run from the dataset root."""
    # --log-output echoes the cells' output (progress, accuracy) to the terminal as they run;
    # the stable engine (code/papermill_stable) writes no timestamps into the notebook.
    args = ["papermill", f"notebooks/{stage}.ipynb", f"{EXECUTED_DIR}/{stage}.ipynb",
            "-f", params_file or default_params_file(stage), "-k", "python3", "--log-output", "--engine", "stable"]
    for name, value in overrides:
        args += ["-p", name, value]
    return args


def read_params(root: Path, stage: str, params_file: str | None = None) -> dict:
    relative = params_file or default_params_file(stage)
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise StageError(f"{relative}: name a params file inside the dataset, relative to its root, "
                         "so that the run record holds a path that is valid in every clone.")
    path = root / relative
    if not path.exists():
        hint = (f"restore it with `git checkout -- {relative}`" if params_file is None else
                "name a committed params file relative to the dataset root, such as params/best/train.yaml")
        raise StageError(f"{relative} is missing; {hint}.")
    return yaml.safe_load(path.read_text()) or {}


def check_parameters(root: Path, stage: str, given: dict) -> None:
    """Refuse names the notebook does not declare, and values of the wrong type, before running."""
    import papermill

    declared = papermill.inspect_notebook(str(root / "notebooks" / f"{stage}.ipynb"))
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise StageError(
            f"Unknown parameter(s) {', '.join(unknown)} for stage {stage}. "
            f"Its parameters are: {', '.join(declared)}."
        )
    for name, value in given.items():
        # A comment "one of: a, b" allows only those values; "one or more of: a, b (joined by +)"
        # also allows them joined by +, each at most once.
        help_text = declared[name].get("help", "")
        several = re.match(r"one or more of:\s*([^(]+)", help_text)
        choices = several or re.match(r"one of:\s*(.+)", help_text)
        if choices:
            allowed = [c.strip() for c in choices.group(1).split(",")]
            parts = str(value).split("+") if several else [str(value)]
            if any(part not in allowed for part in parts) or len(set(parts)) != len(parts):
                how = " (several joined by +, each once)" if several else ""
                raise StageError(f"Parameter {name} of stage {stage} must be one of "
                                 f"{', '.join(allowed)}{how}, not {value!r}.")
        default = ast.literal_eval(declared[name]["default"])
        expected = (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, expected):
            raise StageError(
                f"Parameter {name} of stage {stage} must be of type {type(default).__name__} "
                f"(like its default {default!r}), not {value!r}."
            )


def plan(root: Path, stage: str, overrides: list[tuple[str, str]] = (),
         params_file: str | None = None) -> StageRun:
    """Resolve a stage's parameters (its params file, then ``-p`` overrides) and check them."""
    if stage not in STAGES:
        raise StageError(f"Unknown stage {stage!r}: choose one of {', '.join(STAGES)}.")
    params = read_params(root, stage, params_file)
    # papermill reads -p values the way YAML reads scalars: 100 is a number, sgd a string.
    params.update({name: yaml.safe_load(value) for name, value in overrides})
    check_parameters(root, stage, params)
    prepare = params if stage == "prepare" else read_params(root, "prepare")
    return StageRun(
        stage=stage, params=params, overrides=tuple(overrides),
        raw_dir=prepare.get("raw_dir", "data/raw/imagenette2-160"),
        categories=tuple(prepare.get("categories", {})),
        splits={"train": prepare.get("train_split", "train"), "test": prepare.get("test_split", "val")},
        params_file=params_file or default_params_file(stage),
    )


def unsaved_changes(root: Path) -> list[str]:
    status = commands.output(["git", "status", "--porcelain", "--untracked-files=normal"], cwd=root)
    return [line[3:] for line in status.splitlines() if line.strip()]


def require_clean(root: Path) -> None:
    changed = unsaved_changes(root)
    if changed:
        raise StageError(
            "The dataset has unsaved changes, and a run must start clean so that its record holds "
            f"only what the stage changed: {', '.join(changed)}. Save them "
            "(`datalad save -m 'why' PATH`) or undo them (`git restore PATH`), then run again."
        )


def require_setup(root: Path, container: str) -> None:
    """The input data and the container must be registered before a stage can run."""
    def setting(file: str, key: str) -> str:
        return commands.output(["git", "config", "-f", file, "--get", key], cwd=root)

    if not setting(".gitmodules", "submodule.data/raw.path"):
        raise StageError("The input data is not installed in data/raw: run `make data` "
                         "(IMAGENETTE_URL=file:///path/to/imagenette2-160.tgz for a local copy).")
    if container != "none" and not setting(".datalad/config", f"datalad.containers.{container}.image"):
        raise StageError(f"The dataset has no container {container!r}: run `make container` to build "
                         "and register it, or run without one: CONTAINER=none.")


def run(root: Path, stage: str, overrides: list[tuple[str, str]] = (), container: str = CONTAINER,
        dry_run: bool = False, params_file: str | None = None) -> StageRun:
    """Run one stage through datalad in the dataset at ``root``, printing the command first."""
    planned = plan(root, stage, overrides, params_file)
    command = planned.datalad_command(container)
    if dry_run:
        commands.show(command)
        return planned
    require_setup(root, container)
    require_clean(root)
    if container == "none":
        print("notice: CONTAINER=none runs the stage in this machine's .venv, not in the software "
              "container; the run record then names no image.")
    (root / EXECUTED_DIR).mkdir(exist_ok=True)  # datalad needs an --output's folder to exist
    try:
        commands.run(command, cwd=root)
    except (commands.CommandFailed, KeyboardInterrupt) as error:
        kept = restore_after_failure(root, planned)
        what = "was interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        raise StageError(
            f"Stage {stage} {what}; nothing was saved and the dataset is back to its last commit "
            f"(its earlier results are intact)."
            + (f" The executed notebook, up to the failing cell, is kept at {kept}." if kept else "")
        ) from None
    return planned


def restore_after_failure(root: Path, planned: StageRun) -> str | None:
    """Undo what a failed run left: keep its executed notebook aside (git-ignored), put every
    declared output back to its committed version (annexed ones locked again), drop new ones."""
    kept = None
    executed = root / planned.executed
    written = commands.output(["git", "status", "--porcelain", "--", planned.executed], cwd=root)
    if executed.exists() and written:  # only a notebook this run wrote, not the committed one
        target = root / FAILED_DIR / Path(planned.executed).name
        target.parent.mkdir(parents=True, exist_ok=True)
        executed.replace(target)
        kept = target.relative_to(root).as_posix()
    for output in planned.outputs():
        if commands.output(["git", "ls-files", "--error-unmatch", output], cwd=root):
            commands.run(["git", "checkout", "HEAD", "--", output], cwd=root, quiet=True)
        elif (root / output).exists() or (root / output).is_symlink():
            (root / output).unlink()
    return kept
