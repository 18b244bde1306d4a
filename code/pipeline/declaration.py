"""stages.yaml: the stages, declared once, in the pipeline's order.

Each stage names its notebook, its default params file (papermill's ``-f``), its executed copy,
which of the notebook's parameters name the files it reads and writes, and its run message (a
template of parameters). Everything else reads the stages from here: the runs (stages.py), the
command line, sweeps, the benchmark. A declaration that does not fit its notebook is refused
with the parameters the notebook has.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import checks, schema
from .checks import StageError, template_fields

FILE = "stages.yaml"
REQUIRED_KEYS = ("notebook", "params", "executed", "message", "inputs", "outputs")
OPTIONAL_KEYS = ("input_folders", "changed_settings")
DERIVED_FIELDS = ("labels", "main_parameter", "changed_settings")  # message fields made here


def _names(description: str) -> dict:
    return {"type": "array", "items": {"type": "string"},
            "x-error": f"must list {description}, such as [model_file]."}


KEYS_ERROR = (f"stage {{key}} has the keys {{keys}}; a stage has {', '.join(REQUIRED_KEYS)} and "
              f"may have {', '.join(OPTIONAL_KEYS)}.")
STAGE_SCHEMA = {
    "type": "object", "required": list(REQUIRED_KEYS), "additionalProperties": False,
    "x-error": {"type": "stage {key} must map keys to values.", "required": KEYS_ERROR,
                "additionalProperties": KEYS_ERROR},
    "properties": {
        "notebook": {"type": "string"}, "params": {"type": "string"},
        "executed": {"type": "string"}, "message": {"type": "string"},
        "inputs": _names("the parameters whose values are files the stage reads"),
        "outputs": _names("the parameters whose values are files the stage writes"),
        "changed_settings": _names("parameters the run message names when changed"),
        "input_folders": {
            "type": "object", "required": ["one_per_key_of", "in"],
            "additionalProperties": False,
            "properties": {"one_per_key_of": {"type": "string"},
                           "in": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            "x-error": "must be `{{one_per_key_of: PARAMETER, in: [FOLDER TEMPLATE, ...]}}`."},
    },
}
SCHEMA = {
    "type": "object", "required": ["stages"], "additionalProperties": False,
    "x-error": "must declare the stages in order under `stages:`, one mapping each.",
    "properties": {"stages": {"type": "object", "minProperties": 1,
                              "additionalProperties": STAGE_SCHEMA,
                              "x-error": "must map each stage's name to its declaration, in "
                                         "the pipeline's order."}},
}


@dataclass(frozen=True)
class Stage:
    """One stage as stages.yaml declares it."""

    name: str
    notebook: str
    params: str  # the default params file
    executed: str
    inputs: tuple[str, ...]  # parameters whose values are files the stage reads
    outputs: tuple[str, ...]  # ... and writes
    message: str  # a template: {parameter}, {labels}, {main_parameter}, {changed_settings}
    # {"one_per_key_of": parameter, "in": [folder templates]}: one input folder per key
    input_folders: dict = field(default_factory=dict)
    changed_settings: tuple[str, ...] = ()  # named in the message when not at their default

    def path_parameters(self) -> set[str]:
        return {*self.inputs, *self.outputs}

    def referenced_parameters(self) -> set[str]:
        """Every parameter the declaration names: each must be one of the notebook's."""
        names = {*self.path_parameters(), *self.changed_settings, *template_fields(self.message)}
        if self.input_folders:
            names.add(self.input_folders["one_per_key_of"])
            names.update(*(template_fields(folder) for folder in self.input_folders["in"]))
        return names - set(DERIVED_FIELDS)


def read(root: Path) -> dict[str, Stage]:
    """The stages stages.yaml declares, by name, in the pipeline's order."""
    path = root / FILE
    if not path.is_file():
        raise StageError(f"{FILE} is missing: it declares the stages. Restore it with "
                         f"`git checkout -- {FILE}`.")
    loaded = checks.load_yaml(path.read_text(), FILE)
    schema.check(loaded, SCHEMA, FILE, StageError)
    return {name: Stage(name=name, **{key: entry[key] for key in REQUIRED_KEYS[:4]},
                        inputs=tuple(entry["inputs"]), outputs=tuple(entry["outputs"]),
                        input_folders=entry.get("input_folders") or {},
                        changed_settings=tuple(entry.get("changed_settings", ())))
            for name, entry in loaded["stages"].items()}


def names(root: Path) -> tuple[str, ...]:
    """The stages' names, in order: the only place they are written is stages.yaml."""
    return tuple(read(root))


def path_parameters(root: Path, stage: str) -> set[str]:
    """The parameters of ``stage`` whose values are files it reads or writes."""
    return declared_stage(root, stage).path_parameters()


def declared_stage(root: Path, stage: str) -> Stage:
    declared = read(root)
    if stage not in declared:
        raise StageError(f"Unknown stage {stage!r}: choose one of {', '.join(declared)}.")
    return declared[stage]


def declared_parameters(root: Path, stage: str) -> dict:
    """papermill's reading of the notebook's parameters cell: name -> default, type, help."""
    import papermill

    return papermill.inspect_notebook(str(root / declared_stage(root, stage).notebook))


def notebook_defaults(spec: Stage, declared: dict) -> dict:
    """The default of every parameter, as a value; a declaration naming an unknown one is
    refused."""
    unknown = sorted(spec.referenced_parameters() - set(declared))
    if unknown:
        raise StageError(f"{FILE} names {schema.listed(unknown)} for stage {spec.name}, "
                         f"but {spec.notebook} has no such parameter: its parameters are "
                         f"{schema.listed(declared)}.")
    return checks.parameter_defaults(declared, spec.notebook)


