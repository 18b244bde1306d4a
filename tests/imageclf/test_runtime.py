import os

from imageclf import runtime


def test_inside_the_image_the_report_names_the_container(monkeypatch):
    monkeypatch.setenv("IMAGECLF_CONTAINER", "software")
    assert runtime.report().splitlines()[0] == "container: software"


def test_on_the_host_it_says_so_even_where_the_host_is_a_container(monkeypatch):
    monkeypatch.delenv("IMAGECLF_CONTAINER", raising=False)
    info = runtime.describe()
    assert info["container"] == "none (host)"
    assert info["packages"]["scikit-learn"][0].isdigit()


def test_the_report_names_blas_kernel_threads_and_simd_level():
    """In a process started with the stable engine's pins (as every stage's kernel is), the
    report shows them, sorted, whatever the host would have chosen."""
    import subprocess
    import sys

    import papermill.engines  # noqa: F401  papermill loads our engine through its entry point
    from papermill_stable import pinned_environment

    pins, warning = pinned_environment()
    env = {**os.environ, **pins}
    env.pop("NPY_DISABLE_CPU_FEATURES", None)
    script = "from imageclf import runtime; print(runtime.report())"
    report = subprocess.run([sys.executable, "-c", script],
                            env=env, capture_output=True, text=True, check=True).stdout
    blas = [line for line in report.splitlines() if line.startswith("blas")]
    assert [line.split(":")[0] for line in blas] == ["blas (numpy)", "blas (scipy)"]
    assert all(line.endswith(", 1 thread") for line in blas)
    assert "openmp (scikit-learn): libgomp, 1 thread" in report
    if not warning and "NPY_ENABLE_CPU_FEATURES" in pins:
        assert all(f"kernel {pins['OPENBLAS_CORETYPE']}" in line for line in blas)
        assert "numpy SIMD: X86_V3" in report
