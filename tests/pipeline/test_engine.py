"""pipeline/engine.py only forwards to the container adapter: run records made before the adapter
moved (they name ``python3 code/pipeline/engine.py run {img} {cmd}``) still rerun."""
import subprocess
import sys

from helpers import project
from pipeline.errors import EXIT_ADAPTER, EXIT_USAGE


def engine(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(project() / "code/pipeline/engine.py"), *args],
                          cwd=cwd or project(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def test_it_forwards_its_arguments_to_the_adapter(tmp_path):
    usage = engine("help")
    assert usage.returncode == EXIT_USAGE
    assert "usage: python3 code/container/adapter.py run IMAGE_DIR " in usage.stderr
    missing = engine("run", str(tmp_path / "no-image"), "true")
    assert missing.returncode == EXIT_ADAPTER
    # the adapter's own answer for this image folder (or, without an engine, for that)
    assert (f"{tmp_path / 'no-image'} is not here" in missing.stderr
            or "No container engine found" in missing.stderr), missing.stderr
