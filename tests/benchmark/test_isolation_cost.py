"""The isolation section of `make bench`: the extra files it commits and its verdicts."""
import subprocess

from benchmark import isolation_cost as isolation


def test_extra_files_are_committed_in_folders_of_a_hundred(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    isolation.add_files(tmp_path, count=250)
    tracked = subprocess.run(["git", "ls-files"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout.split()
    assert len(tracked) == 250 and len({path.rsplit("/", 1)[0] for path in tracked}) == 3
    assert subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True,
                          text=True).stdout == ""


def test_the_added_time_per_stage_is_judged_against_its_target():
    results = {"extra_files": 100_000, "engines": {
        "podman": {"adapter_small": 1.2, "adapter_large": 1.35, "added": 0.15,
                   "containers_run_small": 5.0, "containers_run_large": 6.1,
                   "containers_run_added": 1.1},
        "docker": {"adapter_small": 1.0, "adapter_large": 1.5, "added": 0.5,
                   "containers_run_small": 4.0, "containers_run_large": 5.0,
                   "containers_run_added": 1.0}}}
    verdicts = [row[4] for row in isolation.rows(results)]
    assert verdicts == [True, None, False, None]  # datalad's own share is shown, not judged
