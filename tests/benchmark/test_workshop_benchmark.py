"""The workshop benchmark's judgement (benchmark/workshop.py, benchmark/logins.py): figures in,
rows out; the room itself runs in `python -m benchmark --only workshop`."""
import pytest

from benchmark import logins, workshop


def timed(totals: list[float], server: float = 0.4) -> list[dict]:
    return [{"total": total, "server": server} for total in totals]


def results(throughput: float, busy: list[dict], accuracy: dict | None = None) -> dict:
    after = {"accuracy": accuracy or workshop.EXPECTED, "steps": {}, "own_mb": 150,
             "fsck_clean": True, "waited_for_lock": False}
    return {"participants": 2, "setup": {"ready_s": [30.5, 6.0]},
            "sequential": [{"seconds": 70.0}, {"seconds": 70.0}],
            "room": {"seconds": round(140 / throughput, 1)}, "throughput": throughput,
            "logins": {"idle": logins.summary(timed([3.6, 3.7])),
                       "busy": logins.summary(busy), "error": ""},
            "participants_after": {"a": after, "b": dict(after)}}


def judged(rows: list[tuple]) -> dict[str, bool]:
    return {row[0].split(": ", 1)[1]: row[4] for row in rows}


def test_p95_is_the_value_below_which_95_percent_lie():
    values = [float(n) for n in range(1, 21)]  # 1..20
    assert logins.p95(values) == 19.0
    assert logins.p95([2.5]) == 2.5


def test_a_summary_gives_both_figures_and_skips_logins_without_the_page():
    summary = logins.summary([{"total": 4.0, "server": None}, {"total": 2.0, "server": 0.3}])
    assert summary["count"] == 2
    assert summary["total"] == {"median_s": 3.0, "p95_s": 4.0, "max_s": 4.0}
    assert summary["server"]["p95_s"] == 0.3


@pytest.mark.parametrize("throughput, totals, met", [
    (1.6, [2.0] * 19 + [2.9], {"throughput": True, "total": True}),
    (1.4, [2.0] * 18 + [3.5, 3.6], {"throughput": False, "total": False}),
])
def test_each_target_is_judged_from_its_own_figure(throughput, totals, met):
    rows = workshop.rows(results(throughput, timed(totals)))
    verdicts = judged(rows)
    assert verdicts["2 stories at once vs one after another"] is met["throughput"]
    assert verdicts["login + JupyterLab page load (browser) while the room runs"] is met["total"]
    assert verdicts["the hub's part of it (form sent -> JupyterLab's page received)"] is True
    assert verdicts["each participant after the first, ready (of 2)"] is True  # 6.0 of 30
    figures = {row[0]: row[2] for row in rows}
    assert "quiet 3.7 s" in figures["workshop: login + JupyterLab page load (browser) while the "
                                    "room runs"]


def test_no_logins_is_no_pass_and_says_why():
    r = results(1.6, [])
    r["logins"]["error"] = "TimeoutError: page did not load"
    row = next(row for row in workshop.rows(r) if "page load" in row[0])
    assert row[4] is False and "TimeoutError" in row[2]


def test_one_participant_off_by_a_digit_fails_the_accuracy_row():
    r = results(1.6, timed([2.0]))
    r["participants_after"]["b"]["accuracy"] = {**workshop.EXPECTED, "SGD-100": 0.7654}
    assert judged(workshop.rows(r))["every participant's accuracies are the story's"] is False


def test_the_browser_starts_inside_its_own_cpu_group(tmp_path, monkeypatch):
    """The starter joins the group, then becomes chromium (same process), arguments intact."""
    import subprocess

    bin_dir, group = tmp_path / "bin", tmp_path / "group"
    bin_dir.mkdir()
    group.mkdir()
    fake = bin_dir / "chromium"
    fake.write_text('#!/bin/sh\necho "$$"\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert logins.chromium_in("", tmp_path) == str(fake)
    starter = logins.chromium_in(str(group), tmp_path)
    shown = subprocess.run([starter, "--no-sandbox", "two words"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert shown[1:] == ["--no-sandbox", "two words"]
    assert (group / "cgroup.procs").read_text().strip() == shown[0]
