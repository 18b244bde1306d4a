"""The three stages as ``datalad containers-run`` (or ``datalad run``) calls of papermill.

A stage is a notebook (notebooks/NAME.ipynb), its committed parameters (params/NAME.yaml,
passed with papermill's ``-f``) and the executed copy papermill writes (executed/NAME.ipynb).
Everything a stage reads is an ``--input`` and everything it writes an ``--output`` of the run
record, so ``datalad rerun`` fetches, unlocks and recomputes exactly those files.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from . import checks, commands, lock, recovery
from .checks import StageError

STAGES = ("prepare", "train", "evaluate")
CONTAINER = "software"
EXECUTED_DIR = "executed"
FAILED_DIR = f"{EXECUTED_DIR}/failed"  # git-ignored: where a failed run's notebook is kept


@dataclass(frozen=True)
class StageRun:
    """One stage with its parameters resolved: everything needed to build the datalad call."""

    stage: str
    params: dict  # params file merged with the overrides
    overrides: tuple[tuple[str, object], ...]  # (name, value typed, or the mapping/list it gave)
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
        return args + [escape_placeholders(self.papermill_command())]


def escape_placeholders(command: str) -> str:
    """datalad fills {inputs}, {outputs}, ... into the command with str.format: double every
    brace so that parameter values reach papermill exactly as given."""
    return command.replace("{", "{{").replace("}", "}}")


def default_params_file(stage: str) -> str:
    return f"params/{stage}.yaml"


def papermill_args(stage: str, params_file: str | None = None, overrides=()) -> list[str]:
    """The papermill call of a stage, run from the dataset root."""
    # --log-output echoes the cells' output (progress, accuracy) to the terminal as they run;
    # the stable engine (code/papermill_stable) writes no timestamps into the notebook.
    args = ["papermill", f"notebooks/{stage}.ipynb", f"{EXECUTED_DIR}/{stage}.ipynb",
            "-f", params_file or default_params_file(stage), "-k", "python3", "--log-output", "--engine", "stable"]
    for name, value in overrides:
        if isinstance(value, str):
            args += ["-p", name, value]
        else:  # a mapping or list: papermill's -p would pass it on as a string
            args += ["-y", json.dumps({name: value}, ensure_ascii=False)]
    return args


def read_params(root: Path, stage: str, params_file: str | None = None) -> dict:
    return checks.read_params_file(root, params_file or default_params_file(stage), named=bool(params_file))


def declared_parameters(root: Path, stage: str) -> dict:
    import papermill

    return papermill.inspect_notebook(str(root / "notebooks" / f"{stage}.ipynb"))


def plan(root: Path, stage: str, overrides: list[tuple[str, str]] = (),
         params_file: str | None = None) -> StageRun:
    """Resolve a stage's parameters (its params file, then ``-p`` overrides) and check them."""
    if stage not in STAGES:
        raise StageError(f"Unknown stage {stage!r}: choose one of {', '.join(STAGES)}.")
    params = read_params(root, stage, params_file)
    declared = declared_parameters(root, stage)
    # Each -p value as papermill's command line will pass it (its own type rules, not YAML's).
    given = [(name, checks.resolve_override(declared, name, value)) for name, value in overrides]
    params.update(given)
    checks.check_parameters(declared, stage, params)
    prepare = params if stage == "prepare" else read_params(root, "prepare")
    if stage == "prepare":
        checks.check_categories(params.get("categories", {}))
    # papermill gets a scalar as typed (-p) and a mapping or list as parsed (-y).
    passed = tuple((name, parsed if isinstance(parsed, (dict, list)) else typed)
                   for (name, typed), (_, parsed) in zip(overrides, given))
    planned = StageRun(
        stage=stage, params=params, overrides=passed,
        raw_dir=prepare.get("raw_dir", "data/raw/imagenette2-160"),
        categories=tuple(prepare.get("categories", {})),
        splits={"train": prepare.get("train_split", "train"), "test": prepare.get("test_split", "val")},
        params_file=params_file or default_params_file(stage),
    )
    for path in planned.inputs():
        checks.require_inside(root, path, "input")
    for path in planned.outputs():
        checks.require_inside(root, path, "output")
        checks.require_output_is_a_file(root, path)
    return planned


def unsaved_changes(root: Path) -> list[str]:
    status = commands.output(["git", "status", "--porcelain", "--untracked-files=normal"], cwd=root)
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


def require_image_folders(root: Path, planned: StageRun) -> None:
    """prepare reads one folder per category in each split: name the folders that exist."""
    if planned.stage != "prepare":
        return
    for role in ("train", "test"):
        split = root / planned.raw_dir / planned.splits[role]
        folder = split if split.is_dir() else split.parent
        present = sorted(p.name for p in folder.iterdir() if p.is_dir()
                         and not p.name.startswith(".")) if folder.is_dir() else []
        where = folder.relative_to(root).as_posix()
        if not split.is_dir():
            raise StageError(f"{split.relative_to(root).as_posix()} does not exist: check raw_dir and "
                             f"{role}_split in the params file"
                             + (f"; {where} holds {', '.join(present)}." if present else "."))
        missing = [name for name in planned.categories if not (split / name).is_dir()]
        if missing:
            raise StageError(f"No category folder {', '.join(missing)} in {where}; the folders there "
                             f"are: {', '.join(present)}. Name those in `categories`.")


def require_outputs_recoverable(root: Path, planned: StageRun) -> None:
    """An output that exists but that no commit holds (git-ignored) would be lost to the run."""
    for output in planned.outputs():
        path = root / output
        if (path.exists() or path.is_symlink()) and not recovery.is_tracked(root, output):
            raise StageError(f"The output {output} exists and no commit holds it (git ignores it): "
                             "the run would overwrite it and nothing could bring it back. Move it "
                             "away or name another output path.")


def run(root: Path, stage: str, overrides: list[tuple[str, str]] = (), container: str = CONTAINER,
        dry_run: bool = False, params_file: str | None = None) -> StageRun:
    """Run one stage through datalad in the dataset at ``root``, printing the command first.

    The dataset's lock is held throughout; a run that fails or is interrupted is settled from
    the repository's state: recorded (datalad committed it) or undone.
    """
    planned = plan(root, stage, overrides, params_file)
    command = planned.datalad_command(container)
    if dry_run:
        commands.show(command)
        return planned
    require_setup(root, container)
    with lock.hold(root):
        recovery.recover_unfinished(root)
        require_clean(root)
        require_image_folders(root, planned)
        require_outputs_recoverable(root, planned)
        if container == "none":
            print("notice: CONTAINER=none runs the stage in this machine's .venv, not in the software "
                  "container; the run record then names no image.")
        (root / EXECUTED_DIR).mkdir(exist_ok=True)  # datalad needs an --output's folder to exist
        state = recovery.begin(root, stage, planned.executed, planned.outputs(), FAILED_DIR)
        try:
            commands.run(command, cwd=root)
            recovery.end(root)
        except (commands.CommandFailed, KeyboardInterrupt) as error:
            with commands.shielded():
                commit, kept = recovery.settle(root, state)
                recovery.end(root)
                raise outcome(root, stage, error, commit, kept) from None
    return planned


def outcome(root: Path, stage: str, error: Exception, commit: str | None, kept: str | None) -> StageError:
    """The truth about a run that did not end normally, read from the repository."""
    signal_name = getattr(error, "signal_name", "SIGINT") if isinstance(error, KeyboardInterrupt) else ""
    what = f"was interrupted ({signal_name})" if signal_name else "failed"
    if commit:
        subject = commands.output(["git", "log", "-1", "--format=%s", commit], cwd=root)
        message = (f"Stage {stage} {what} after datalad had recorded it: commit {commit[:8]} "
                   f"({subject}) holds its results.")
    else:
        message = (f"Stage {stage} {what}; nothing was saved and the dataset is back to its last "
                   "commit (its earlier results are intact)."
                   + (f" The executed notebook, up to the failing cell, is kept at {kept}." if kept else ""))
    left = unsaved_changes(root)
    if left:
        message += (f" Still changed: {', '.join(left)}; `git reset -q HEAD -- PATH && git checkout "
                    "HEAD -- PATH` undoes a change.")
    error_out = StageError(message)
    error_out.exit_code = getattr(error, "exit_code", 130) if signal_name else 1
    return error_out
