"""pipeline.verify: what it says about each output of the records it reran."""
from pipeline import verify


def test_summary_names_each_output_and_counts():
    checks = [verify.Check("0123abcd", "model.joblib", True),
              verify.Check("0123abcd", "accuracy.json", False, "accuracy 0.7237 -> 0.7301"),
              verify.Check("4567ef01", "noise.txt", False)]
    assert verify.summary(checks).splitlines() == [
        "0123abcd  identical  model.joblib",
        "0123abcd  DIFFERENT  accuracy.json  (accuracy 0.7237 -> 0.7301)",
        "4567ef01  DIFFERENT  noise.txt",
        "1 identical, 2 different",
    ]
    assert verify.summary([]) == "0 identical, 0 different"
