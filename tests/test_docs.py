"""docs/walkthrough.ipynb: the executed copy readers open keeps up with the notebook it was made from."""
import nbformat

from helpers import project

MEGABYTE = 1 << 20


def test_executed_walkthrough_has_the_cells_of_the_source_notebook():
    executed = nbformat.read(project() / "docs/walkthrough.ipynb", as_version=4)
    source = nbformat.read(project() / "notebooks/walkthrough.ipynb", as_version=4)
    cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert [(c.cell_type, c.source) for c in cells] == [(c.cell_type, c.source) for c in source.cells], \
        "docs/walkthrough.ipynb is out of date: IMAGENETTE_URL=file:///path/to/archive.tgz make docs, then commit it"


def test_executed_walkthrough_has_outputs_and_no_machine_paths():
    text = (project() / "docs/walkthrough.ipynb").read_text()
    html = (project() / "docs/walkthrough.html").read_text()
    notebook = nbformat.reads(text, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert "differences in the results between main and verify: 0 lines" in text
    for page in (text, html):
        assert "imageclf-docs-" not in page and "/tmp/imageclf-walkthrough" in page
        assert len(page.encode()) < 2 * MEGABYTE
