"""JSON Schema checks of the YAML files the pipeline reads (stages.yaml, sweep files), with one
error that names the file, the key and what is allowed.

A schema node may carry ``x-error``, the sentence a reader needs when that node does not fit
(a mapping from keyword to sentence where keywords need different ones): a template with
``{key}`` (the last key of its place), ``{value}``, ``{keys}`` (the mapping's keys),
``{unknown}`` (keys the node does not allow) and ``{allowed}``; it follows the place
(``sweeps/x.yaml: grid.train.max_iter: must be a list ...``). Without one, the message comes
from the failed keyword. Lists of names in messages are cut at :data:`MAX_LISTED`.
"""
from __future__ import annotations

import jsonschema
from jsonschema.exceptions import ValidationError, best_match, relevance

MAX_LISTED = 20  # names an error lists before it says how many more there are


def listed(names, limit: int = MAX_LISTED) -> str:
    """``a, b, c``; past ``limit`` names: ``a, b, ... and 12 more``."""
    names = [str(name) for name in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, ... and {len(names) - limit} more"


def place(path) -> str:
    """Where in the file: ``grid.train.max_iter``; the top level is the file itself."""
    return ".".join(str(part) for part in path)


def _template(error: ValidationError) -> str | None:
    """The failed node's ``x-error`` for the keyword that failed."""
    found = error.schema.get("x-error") if isinstance(error.schema, dict) else None
    return found.get(error.validator) if isinstance(found, dict) else found


def _allowed(error: ValidationError) -> str:
    schema = error.schema
    if "enum" in schema:
        return listed(schema["enum"])
    properties = schema.get("properties") or {}
    return listed(properties) if properties else ""


def describe(error: ValidationError, source: str) -> str:
    """One sentence: the file, the place, what is wrong and what is allowed."""
    instance = error.instance
    key = error.path[-1] if error.path else source
    unknown = []
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        unknown = sorted(map(str, set(instance) - set(error.schema.get("properties", {}))))
    fields = {"key": key, "value": instance, "allowed": _allowed(error),
              "keys": listed(sorted(map(str, instance))) if isinstance(instance, dict) else "",
              "unknown": listed(unknown)}
    template = _template(error)
    if template is None:
        if unknown:
            template = "unknown key(s) {unknown}; allowed: {allowed}."
        else:
            template = f"{error.message}."
    where = place(error.path)
    return f"{source}: {where + ': ' if where else ''}{template.format(**fields)}"


def check(instance, schema: dict, source: str, error_type: type[Exception]) -> None:
    """Raise ``error_type`` with :func:`describe`'s sentence when ``instance`` does not fit."""
    validator = jsonschema.Draft202012Validator(schema)
    # the deepest error names the precise place; among equals, jsonschema's own relevance
    found = best_match(validator.iter_errors(instance),
                       key=lambda error: (len(error.path), relevance(error)))
    if found is not None:
        raise error_type(describe(found, source))
