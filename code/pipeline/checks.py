"""What a stage may be asked, checked before datalad or the container starts.

Params files must be YAML mappings inside the dataset; ``-p`` values are read the way
papermill's own command line reads them; every path a run reads or writes must stay inside the
dataset and out of its git machinery, also through symlinks; the input data, the container and
the input folders must be there, and no output may overwrite what no commit holds.
"""
from __future__ import annotations

import ast
import re
import shlex
import string
from pathlib import Path, PurePosixPath

import yaml
from container import sandbox
from imageclf.classifiers import out_of_range

from . import recovery, schema
from .git import git
from .errors import PipelineError

GLOB_CHARACTERS = "*?["  # datalad expands --input/--output as globs


class StageError(PipelineError, ValueError):
    """A stage cannot run as asked; the message says what to change."""


def load_yaml(text: str, where: str):
    """YAML as papermill reads it (dates stay strings); a parse error names line and fix."""
    from papermill.iorw import NoDatesSafeLoader

    try:
        return yaml.load(text, Loader=NoDatesSafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise StageError(f"{where} is not valid YAML{at}: {problem}. Fix it and run "
                         "again.") from None


def read_params_file(root: Path, relative: str, named: bool) -> dict:
    """The mapping in a params file inside the dataset (``named``: given with -f by the user)."""
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise StageError(f"{relative}: name a params file inside the dataset, relative to its "
                         "root, so that the run record holds a path that is valid in every clone.")
    path = root / relative
    if not path.exists():
        hint = ("name a committed params file relative to the dataset root, such as "
                "params/best/train.yaml" if named
                else f"restore it with `git checkout -- {relative}`")
        raise StageError(f"{relative} is missing; {hint}.")
    require_inside(root, relative, "params file")
    if path.is_dir():
        raise StageError(f"{relative} is a folder; name a params file (YAML) in it, such as "
                         f"{relative.rstrip('/')}/train.yaml.")
    params = load_yaml(path.read_text(), relative)
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise StageError(f"{relative} holds a {type(params).__name__}, not parameter names with "
                         "values: write one `name: value` per line.")
    return params


def resolve_override(declared: dict, name: str, value: str):
    """A ``-p`` value as papermill's command line passes it: True/False/None, int, float, else
    the string as typed. A parameter whose default is a mapping or list takes YAML instead
    (``-p categories '{n01440764: tench, ...}'``); papermill then gets it through ``-y``."""
    from papermill.cli import _resolve_type

    default = declared.get(name, {}).get("default")
    if default is not None and default.lstrip().startswith(("{", "[")):
        return load_yaml(value, f"The value of -p {name}")
    return _resolve_type(value)


def require_every_stage_takes(parameters: dict[str, dict], overrides) -> None:
    """Each -p goes to every stage run (``parameters``: each one's, by stage): one that only
    some of them have is refused with the stage to name (`run -p max_iter 20` would fail at
    prepare)."""
    for name, value in overrides:
        owners = [stage for stage, declared in parameters.items() if name in declared]
        if owners and len(owners) < len(parameters):
            raise StageError(
                f"-p {name} goes to every stage run, and only {', '.join(owners)} has it: name "
                f"the stage, `python -m pipeline run {owners[0]} -p {name} {shlex.quote(value)}`, "
                "then run the stages after it.")


def parameter_defaults(declared: dict, notebook: str) -> dict:
    """Each parameter's default in papermill's reading of the parameters cell, as a value."""
    try:
        return {name: ast.literal_eval(entry["default"]) for name, entry in declared.items()}
    except (ValueError, SyntaxError):
        raise StageError(f"{notebook}: every default in the parameters cell must be a plain "
                         "value (a number, string, list or mapping), not an expression.") from None


def template_fields(template: str) -> set[str]:
    """The names a str.format template fills in: "{raw_dir}/{train_split}" -> both."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_parameters(declared: dict, stage: str, given: dict) -> None:
    """Refuse names the notebook does not declare, and values of the wrong type or choice."""
    unknown = sorted(map(str, set(given) - set(declared)))
    if unknown:
        raise StageError(f"Unknown parameter(s) {schema.listed(unknown)} for stage {stage}. "
                         f"Its parameters are: {schema.listed(declared)}.")
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
        bound = out_of_range(name, value)
        if bound:
            raise StageError(f"Parameter {name} of stage {stage} must be {bound}, not {value!r}.")


def check_categories(categories) -> None:
    """prepare's categories: at least two plain folder names (a classifier needs two classes)."""
    if len(categories) < 2:
        raise StageError("prepare needs at least two categories (a classifier tells classes apart; "
                         f"train would fail on {len(categories)}): list two or more folder names "
                         "with their labels under `categories`.")
    for folder in categories:
        if not isinstance(folder, str) or folder in (".", "..") or "/" in folder or not folder:
            raise StageError(f"Category {folder!r} is not a folder name such as n03445777: "
                             "name the category folders of the Imagenette split.")


def require_inside(root: Path, relative: str, what: str) -> None:
    """Refuse a path that leaves the dataset or enters git's machinery, also through symlinks.

    Annexed files are symlinks into .git/annex/objects: those links are what they should be.
    """
    if not isinstance(relative, str) or not relative.strip() or "\0" in relative:
        raise StageError(f"The {what} {relative!r} is not a path: name a file inside the dataset.")
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts:
        raise StageError(f"The {what} {relative} leaves the dataset: name a path inside it, "
                         "relative to its root and without `..`, such as outputs/accuracy.json.")
    if ".git" in path.parts:
        raise StageError(f"The {what} {relative} is inside git's own folder (.git): name a path in "
                         "the dataset's working tree.")
    if any(character in relative for character in GLOB_CHARACTERS):
        raise StageError(f"The {what} {relative} contains one of {GLOB_CHARACTERS}, which datalad "
                         "reads as a wildcard: choose a name without them.")
    top = root.resolve()
    folder = (root / path).parent.resolve()
    if not _within(folder, top):
        raise StageError(f"The {what} {relative} lies in a folder that is a symlink out of the "
                         f"dataset (to {folder}): name a path whose folders are inside the "
                         "dataset.")
    target = (root / path).resolve()
    inside = _within(target, top) and _allowed_in_dataset(target, top)
    if (root / path).is_symlink() and not inside:
        raise StageError(f"The {what} {relative} is a symlink to {target}, outside the dataset: "
                         "name a file that lives in the dataset.")


def _within(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def _allowed_in_dataset(target: Path, top: Path) -> bool:
    """Outside any .git folder, or annexed content (.git/annex/objects, also of subdatasets)."""
    parts = target.relative_to(top).parts
    if ".git" not in parts:
        return True
    at = parts.index(".git")
    return parts[at + 1:at + 3] == ("annex", "objects")


def require_output_outside_subdatasets(root: Path, relative: str) -> None:
    """A subdataset (data/raw) is another dataset, read-only to runs: an output there would
    fail after the whole run, when the notebook writes it."""
    for subdataset in sandbox.registered_subdatasets(root):
        if PurePosixPath(relative).is_relative_to(subdataset):
            raise StageError(f"The output {relative} lies in the subdataset {subdataset}, which "
                             "runs only read: name a path in this dataset, such as "
                             f"outputs/{PurePosixPath(relative).name}.")


def require_output_kept_by_git(root: Path, relative: str) -> None:
    """datalad saves nothing git ignores: a run writing there would be recorded with an output
    that no commit holds (and the container may not write it at all)."""
    matched = git(root, "check-ignore", "--verbose", "--no-index", "--", relative)
    if matched:
        source, _, pattern = matched.split("\t")[0].split(":", 2)  # source:line:pattern
        raise StageError(f"The output {relative} is a path git ignores ({source}: {pattern}): "
                         "datalad would not save it, and the run record would name a file no "
                         "commit holds. Name a path git keeps, such as "
                         f"outputs/{PurePosixPath(relative).name}.")


def require_output_is_a_file(root: Path, relative: str) -> None:
    if (root / relative).is_dir() and not (root / relative).is_symlink():
        raise StageError(f"The output {relative} is a folder: name a file, such as "
                         f"{relative.rstrip('/')}/result.json.")


def require_setup(root: Path, container: str) -> None:
    """The input data and the container must be registered before a stage can run."""
    def setting(file: str, key: str) -> str:
        return git(root, "config", "-f", file, "--get", key)

    if not setting(".gitmodules", "submodule.data/raw.path"):
        raise StageError("The input data is not installed in data/raw: run `make data` "
                         "(IMAGENETTE_URL=file:///path/to/imagenette2-160.tgz for a local copy).")
    if container != "none" and not setting(".datalad/config",
                                            f"datalad.containers.{container}.image"):
        raise StageError(f"The dataset has no container {container!r}: run `make container` to "
                         "build and register it, or run without one: CONTAINER=none.")


def require_input_folders(root: Path, input_folders: dict, params: dict) -> None:
    """prepare reads one folder per category in each split (stages.yaml's ``input_folders``):
    name the folders that exist where one is missing."""
    if not input_folders:
        return
    keys = input_folders["one_per_key_of"]
    for template in input_folders["in"]:
        split = root / template.format_map(params)
        folder = split if split.is_dir() else split.parent
        present = sorted(p.name for p in folder.iterdir() if p.is_dir()
                         and not p.name.startswith(".")) if folder.is_dir() else []
        where = folder.relative_to(root).as_posix()
        if not split.is_dir():
            names = " and ".join(sorted(template_fields(template)))
            raise StageError(f"{split.relative_to(root).as_posix()} does not exist: check {names} "
                             "in the params file"
                             + (f"; {where} holds {', '.join(present)}." if present else "."))
        missing = [name for name in params[keys] if not (split / name).is_dir()]
        if missing:
            raise StageError(f"No category folder {', '.join(missing)} in {where}; the folders "
                             f"there are: {', '.join(present)}. Name only those in `{keys}`, or "
                             "use input data that holds the others (all ten Imagenette classes: "
                             "docs/parameters.md, 'All ten classes').")


def require_outputs_recoverable(root: Path, outputs: list[str]) -> None:
    """An output that exists but that no commit holds (git-ignored) would be lost to the run."""
    for output in outputs:
        path = root / output
        if (path.exists() or path.is_symlink()) and not recovery.is_tracked(root, output):
            raise StageError(f"The output {output} exists and no commit holds it (git ignores "
                             "it): the run would overwrite it and nothing could bring it back. "
                             "Move it away or name another output path.")
