import subprocess
import sys
import warnings

import numpy as np
import pytest

from imageclf import classifiers, modeling


def test_every_classifier_has_a_main_parameter_that_make_classifier_takes():
    for name in classifiers.NAMES:
        knob = classifiers.main_parameter(name)
        classifier = modeling.make_classifier(name, **{knob: 3})
        assert f"{knob}=3" in repr(classifier), name


def test_the_handbooks_knobs():
    assert classifiers.main_parameter("sgd") == "max_iter"
    assert classifiers.main_parameter("random-forest") == "n_estimators"
    assert classifiers.main_parameter("unknown") == "max_iter"


def test_the_table_needs_no_scientific_python():
    """`pipeline` reads it outside the container, where scikit-learn need not be installed."""
    script = ("import sys, imageclf.classifiers; "
              "print(sorted({'numpy', 'sklearn'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout
    assert loaded.strip() == "[]"


def test_the_knobs_each_classifier_reads_are_the_ones_make_classifier_uses():
    for name in classifiers.NAMES:
        default = repr(modeling.make_classifier(name))
        for knob in classifiers.KNOBS:
            changed = repr(modeling.make_classifier(name, **{knob: 7}))
            assert (changed != default) == (knob in classifiers.USES[name]), (name, knob)
    assert classifiers.unused_knobs("random-forest", ["max_iter", "features"]) == ["max_iter"]
    assert classifiers.unused_knobs("no-such", ["max_iter"]) == []


@pytest.mark.parametrize("name", classifiers.NAMES)
def test_values_refused_before_a_run_are_the_ones_the_classifier_refuses(name):
    """The pipeline checks knobs without scikit-learn: what it lets through, scikit-learn takes,
    and what scikit-learn refuses, it refuses (also 0 passes or trees, which some take)."""
    rng = np.random.default_rng(0)
    features, labels = rng.random((12, 4)), np.array([0, 1] * 6)
    for knob in classifiers.USES[name]:
        below, least = (0.0, 0.01) if knob == "C" else (-1, 1)
        assert classifiers.out_of_range(knob, below) and not classifiers.out_of_range(knob, least)
        assert knob == "C" or classifiers.out_of_range(knob, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one pass does not converge
            modeling.make_classifier(name, **{knob: least}).fit(features, labels)
            with pytest.raises((ValueError, ZeroDivisionError)):
                modeling.make_classifier(name, **{knob: below}).fit(features, labels)
