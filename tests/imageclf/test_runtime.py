from imageclf import runtime


def test_inside_the_image_the_report_names_the_container(monkeypatch):
    monkeypatch.setenv("IMAGECLF_CONTAINER", "software")
    assert runtime.report().splitlines()[0] == "container: software"


def test_on_the_host_it_says_so_even_where_the_host_is_a_container(monkeypatch):
    monkeypatch.delenv("IMAGECLF_CONTAINER", raising=False)
    info = runtime.describe()
    assert info["container"] == "none (host)"
    assert info["packages"]["scikit-learn"][0].isdigit()
