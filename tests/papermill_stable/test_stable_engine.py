"""papermill --engine stable: identical results give identical executed notebooks, whatever the
timing of the kernel's output and whatever the host's processor settings."""
import os
import subprocess
import sys
from contextlib import contextmanager

import nbformat
import papermill.engines  # noqa: F401  first, as papermill itself loads the engine (entry point)
import pytest

import papermill_stable
from papermill_stable import canonical_streams, pinned_environment


def write_notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell("n = 3", metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook(tmp_path):
    """A parameterised notebook that prints, sleeps (so timings differ) and plots nothing."""
    return write_notebook(tmp_path / "source.ipynb",
                          "import time; time.sleep(0.05); print(sum(range(n)))")


def execute(notebook, output, *extra, env=None, prefix=()):
    subprocess.run([*prefix, sys.executable, "-m", "papermill", str(notebook), str(output),
                    "-k", "python3", "-p", "n", "5", "--no-progress-bar", *extra], check=True,
                   capture_output=True,
                   env={**os.environ, **(env or {})})
    return output.read_bytes()


@contextmanager
def busy_cores(count=2, seconds=60):
    """Load the machine while the block runs (bounded: the loops end by themselves)."""
    loops = [subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {seconds}\n"
                               "while time.time() < end: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


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


PRINT_SLEEP_PRINT = ("import sys, time\nprint('first', flush=True)\n"
                     "print('note', file=sys.stderr, flush=True)\ntime.sleep(0.5)\n"
                     "print('second')\nprint('more', file=sys.stderr)")
WHERE_THIS_RAN = "from imageclf import runtime\nprint(runtime.report())"


def test_split_output_and_host_processor_settings_give_identical_bytes(tmp_path):
    """A cell that prints, sleeps and prints again reaches nbclient as several outputs (how many
    depends on timing); the stable engine writes one stdout and one stderr output. Two runs under
    load, on a host set up as two different processors (kernel, cores), give the same bytes, and
    the runtime report names the pinned kernel and thread counts, not the host's."""
    source = write_notebook(tmp_path / "source.ipynb", PRINT_SLEEP_PRINT, WHERE_THIS_RAN)
    default = nbformat.reads(execute(source, tmp_path / "default.ipynb").decode(), as_version=4)
    assert len(default.cells[-2].outputs) > 2  # what the canonical form is needed for

    skylake = {"OPENBLAS_CORETYPE": "SkylakeX", "OMP_NUM_THREADS": "5", "OPENBLAS_NUM_THREADS": "5",
               "NPY_DISABLE_CPU_FEATURES": "X86_V4"}
    sandybridge = {"OPENBLAS_CORETYPE": "Sandybridge", "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1"}
    with busy_cores():
        first = execute(source, tmp_path / "out.ipynb", "--engine", "stable", env=skylake)
        second = execute(source, tmp_path / "out.ipynb", "--engine", "stable", env=sandybridge,
                         prefix=("taskset", "-c", "0"))
    assert first == second
    executed = nbformat.reads(first.decode(), as_version=4)
    assert [(o["name"], o["text"]) for o in executed.cells[-2].outputs] == [
        ("stdout", "first\nsecond\n"), ("stderr", "note\nmore\n")]
    report = executed.cells[-1].outputs[0]["text"]
    pins, warning = pinned_environment()
    if not warning:
        assert "kernel SkylakeX" not in report and "kernel Sandybridge" not in report
        assert f"kernel {pins['OPENBLAS_CORETYPE']}, 1 thread" in report
    assert "openmp (scikit-learn): libgomp, 1 thread" in report


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_canonical_streams_merge_each_run_of_stream_outputs():
    display = nbformat.v4.new_output("display_data", data={"text/plain": "figure"})
    outputs = [stream("stdout", "a\n"), stream("stderr", "w\n"), stream("stdout", "b\n"), display,
               stream("stdout", "c\n"), stream("stdout", ["d\n", "e\n"])]
    merged = canonical_streams(outputs)
    assert [(o.get("name"), o.get("text")) for o in merged] == [
        ("stdout", "a\nb\n"), ("stderr", "w\n"), (None, None), ("stdout", "c\nd\ne\n")]
    assert canonical_streams(merged) == merged  # already canonical: unchanged


V3 = papermill_stable.X86_64_V3_FLAGS | {"sse4_2", "avx512f"}


def test_pins_fix_kernel_and_threads_on_x86_64():
    pins, warning = pinned_environment("x86_64", V3)
    assert warning == ""
    assert pins == {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "X86_V3",
                    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_a_processor_without_avx2_is_told_results_may_differ():
    pins, warning = pinned_environment("x86_64", {"sse4_2", "avx"})
    assert "OPENBLAS_CORETYPE" not in pins and pins["OMP_NUM_THREADS"] == "1"
    assert "AVX2" in warning


def test_aarch64_gets_the_generic_armv8_kernel():
    pins, warning = pinned_environment("aarch64", set())
    assert pins["OPENBLAS_CORETYPE"] == "ARMV8" and warning == ""


def test_pins_override_the_host_and_are_undone_afterwards(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.setenv("NPY_DISABLE_CPU_FEATURES", "X86_V4")
    with papermill_stable.pinned_kernel_environment():
        assert os.environ["OMP_NUM_THREADS"] == "1" and "NPY_DISABLE_CPU_FEATURES" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert os.environ["NPY_DISABLE_CPU_FEATURES"] == "X86_V4"


def test_consecutive_stream_outputs_are_joined_however_the_kernel_flushed_them():
    from papermill_stable import strip_timing
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="c\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="d\n")]
    nb = strip_timing(nbformat.v4.new_notebook(cells=[cell]))
    # stdout and stderr are flushed independently, so their relative order is timing too.
    outputs = [(o.name, o.text) for o in nb.cells[0].outputs]
    assert outputs == [("stdout", "a\nb\nd\n"), ("stderr", "c\n")]


def test_cells_are_reported_as_events_only_when_the_pipeline_asks(notebook, tmp_path):
    def stderr(env):
        done = subprocess.run([sys.executable, "-m", "papermill", str(notebook),
                               str(tmp_path / "out.ipynb"), "-k", "python3", "--engine", "stable",
                               "--no-progress-bar"], check=True, capture_output=True, text=True,
                              env={**os.environ, **env})
        return [line for line in done.stderr.splitlines() if line.startswith("{")]

    asked = stderr({papermill_stable.EVENTS_SWITCH: "1"})
    assert asked == ['{"event":"cell","index":0,"cells":2}', '{"event":"cell-done","index":0}',
                     '{"event":"cell","index":1,"cells":2}', '{"event":"cell-done","index":1}']
    assert stderr({papermill_stable.EVENTS_SWITCH: ""}) == []  # papermill typed by hand
