"""What datalad passes to the adapter: the image, the declared outputs, the command."""
import pytest

from container import callformat


@pytest.mark.parametrize("argv, parsed", [
    (["run", "img", "--outputs", "a b", "c", "--", "papermill", "x"],
     ("img", ["a b", "c"], ["papermill", "x"])),
    (["run", "img", "--outputs", "--", "true"], ("img", [], ["true"])),  # none declared
    (["run", "img", "papermill", "x"], ("img", None, ["papermill", "x"])),  # an older record
    (["run", "img", "--outputs", "a", "--"], None),  # no command
    (["run", "img", "--outputs", "a", "true"], None),  # no end of the outputs
])
def test_the_outputs_datalad_passes_are_read(argv, parsed, monkeypatch):
    monkeypatch.delenv("IMAGECLF_OUTPUTS", raising=False)
    assert callformat.parse(argv) == parsed


def test_an_older_record_gets_its_outputs_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMAGECLF_OUTPUTS", '["model.joblib"]')
    assert callformat.parse(["run", "img", "true"]) == ("img", ["model.joblib"], ["true"])


def test_the_pipeline_gives_a_record_of_the_older_format_its_outputs(monkeypatch):
    monkeypatch.delenv(callformat.OUTPUTS_VARIABLE, raising=False)
    with callformat.outputs_given(["model.joblib", "executed/train.ipynb"]):
        assert callformat.parse(["run", "img", "true"])[1] == ["model.joblib",
                                                              "executed/train.ipynb"]
    assert callformat.parse(["run", "img", "true"])[1] is None  # gone after the block
