"""The room as a table (pipeline/workshop/status.py): what the instructor reads per participant."""
from pipeline.workshop import status
from pipeline.workshop.layout import Account


def entry(account, steps, last, accuracy):
    return {"account": account, "steps": steps, "last_run": last, "accuracy": accuracy,
            "problem": "", "home": f"/home/{account}", "clone": f"/home/{account}/imageclf"}


def test_the_table_shows_steps_last_run_error_and_accuracies():
    rows = [
        entry("ws-01", ["ready4analysis", "SGD-100", "random-forest", "randomforest"],
              {"command": "tutorial", "exit": 0, "outcome": "ok", "error": "", "ended": "10:02"},
              {"SGD-10": 0.7237, "SGD-100": 0.7655, "random forest": 0.8162}),
        entry("ws-02", ["ready4analysis"],
              {"command": "run train -p max_iter ten", "exit": 1, "outcome": "failed",
               "error": "max_iter must be a whole number", "ended": "10:05"}, {"SGD-10": 0.7237}),
        entry("ws-03", [], None, {}),
    ]
    table = status.render(rows).splitlines()
    assert table[0].split()[:3] == ["participant", "steps", "done"]
    assert "4/4 randomforest" in table[1] and "0.8162" in table[1]
    assert "1/4 ready4analysis" in table[2] and "failed 10:05 (run train" in table[2]
    assert table[2].endswith("max_iter must be a whole number") and "0.7237" in table[2]
    assert table[3].split()[:3] == ["ws-03", "0/4", "-"]


def test_a_participant_without_a_clone_is_named_not_skipped(tmp_path):
    missing = Account(name="01", account="ws-01", uid=1, home=str(tmp_path),
                      clone=str(tmp_path / "imageclf"))
    row = status.rows([missing])[0]
    assert row["problem"].startswith("no clone") and row["clone"] == missing.clone
    assert "no clone" in status.render([row])


def test_an_error_is_one_line_and_short():
    assert status.first_line("\n  first\nsecond") == "first"
    assert len(status.first_line("x" * 300)) == 100
