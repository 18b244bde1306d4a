"""Forwards to the container adapter, code/container/adapter.py; nothing else lives here.

Datasets registered before the adapter moved beside the container recipe name this path in
their container's call format and in every run record (``python3 code/pipeline/engine.py run
{img} {cmd}``), and ``datalad rerun`` executes a record's command as recorded: this file keeps
those reruns working. New registrations name code/container/adapter.py.
"""
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    adapter = Path(__file__).resolve().parents[1] / "container" / "adapter.py"
    os.execv(sys.executable, [sys.executable, str(adapter), *sys.argv[1:]])
