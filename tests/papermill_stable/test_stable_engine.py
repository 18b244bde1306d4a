"""papermill --engine stable: identical results give identical executed notebooks."""
import subprocess
import sys

import nbformat
import pytest


@pytest.fixture
def notebook(tmp_path):
    """A parameterised notebook that prints, sleeps (so timings differ) and plots nothing."""
    cells = [nbformat.v4.new_code_cell("n = 3", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("import time; time.sleep(0.05); print(sum(range(n)))")]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
        "language_info": {"name": "python"}})
    path = tmp_path / "source.ipynb"
    nbformat.write(nb, path)
    return path


def execute(notebook, output, *extra):
    subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(output), "-k", "python3",
                    "-p", "n", "5", "--no-progress-bar", *extra], check=True, capture_output=True)
    return output.read_bytes()


def test_two_runs_write_identical_bytes(notebook, tmp_path):
    first = execute(notebook, tmp_path / "out.ipynb", "--engine", "stable")
    second = execute(notebook, tmp_path / "out.ipynb", "--engine", "stable")
    assert first == second
    executed = nbformat.reads(first.decode(), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "10\n"  # it really ran, with the parameter
    assert executed.metadata.papermill.parameters == {"n": 5}
    assert "start_time" not in executed.metadata.papermill
    assert all("execution" not in cell.metadata for cell in executed.cells)


def test_default_engine_differs_between_runs(notebook, tmp_path):
    """The reason for the engine: papermill's own output changes with every run."""
    assert execute(notebook, tmp_path / "out.ipynb") != execute(notebook, tmp_path / "out.ipynb")


def test_consecutive_stream_outputs_are_joined_however_the_kernel_flushed_them():
    import papermill.engines  # noqa: F401  (first: it loads the engines' entry points, ours included)
    from papermill_stable import strip_timing
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="c\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="d\n")]
    nb = strip_timing(nbformat.v4.new_notebook(cells=[cell]))
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "a\nb\n"), ("stderr", "c\n"), ("stdout", "d\n")]
