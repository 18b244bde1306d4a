"""Run a command; print ``{"seconds": ..., "peak_rss_mb": ...}`` as the last line of stderr.

The peak is the largest resident set of any process in the command's tree that was waited for
(``RUSAGE_CHILDREN``): for papermill that is the kernel, where the notebook's work happens. A
fresh process per measurement, because that maximum never goes down within a process.
"""
import json
import resource
import subprocess
import sys
import time

if __name__ == "__main__":
    started = time.perf_counter()
    returncode = subprocess.call(sys.argv[1:])
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_kb / 1024, 1),
                      "returncode": returncode}), file=sys.stderr)
    sys.exit(returncode)
