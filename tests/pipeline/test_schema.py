"""Schema checks name the file, the place and what is allowed, and cut long lists short."""
import pytest

from pipeline import schema
from pipeline.errors import PipelineError

SHAPE = {
    "type": "object", "additionalProperties": False,
    "x-error": {"type": "must hold a mapping.", "additionalProperties":
                "unknown key(s) {unknown}; it has {allowed}."},
    "properties": {
        "size": {"type": "integer", "x-error": "must be a whole number, not {value!r}."},
        "kind": {"enum": ["a", "b"]},
        "deep": {"type": "object", "additionalProperties": {"type": "array"}},
    },
}


@pytest.mark.parametrize("instance, says", [
    ([1], "x.yaml: must hold a mapping."),
    ({"colour": 1}, "x.yaml: unknown key(s) colour; it has size, kind, deep."),
    ({"size": "big"}, "x.yaml: size: must be a whole number, not 'big'."),
    ({"kind": "c"}, "x.yaml: kind: 'c' is not one of ['a', 'b']."),
    ({"deep": {"list": 3}}, "x.yaml: deep.list: 3 is not of type 'array'."),
])
def test_an_error_names_the_file_the_place_and_what_is_allowed(instance, says):
    with pytest.raises(PipelineError) as error:
        schema.check(instance, SHAPE, "x.yaml", PipelineError)
    assert str(error.value) == says


def test_a_fitting_instance_passes():
    schema.check({"size": 3, "kind": "a", "deep": {"x": []}}, SHAPE, "x.yaml", PipelineError)


def test_long_lists_of_names_are_cut_with_a_count():
    assert schema.listed(["a", "b"]) == "a, b"
    names = [f"k{index}" for index in range(300_000)]
    text = schema.listed(names)
    assert text.endswith("k19, ... and 299980 more") and len(text) < 200
    with pytest.raises(PipelineError) as error:
        schema.check({f"k{index}": 1 for index in range(1000)}, SHAPE, "x.yaml", PipelineError)
    assert "... and 980 more" in str(error.value) and len(str(error.value)) < 400
