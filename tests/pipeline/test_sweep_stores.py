"""Sweep results through RIA stores (stores.py) on a small DataLad dataset: the siblings, the
verifyremote gate of git-annex 10.2026, a job's push to the output store and the fetch back."""
import pytest

from helpers import STAGES, git, sh
from pipeline import terminal
from pipeline.git import has_ref
from pipeline.sweep import stores
from pipeline.sweep.jobs import Jobs
from pipeline.sweep.model import Job, Sweep, SweepError
from pipeline.sweep.shell import JobFailed

LISTING = """\
This is the configuration of the remote:
\ttype=external archive-id=94a9 externaltype=ora url=ria+file:///data/ria/output autoenable=true \
encryption=none

Is this a location that you expected to be using?
If so, run:  git-annex verifyremote imageclf-output-storage --safe 7
If not, run: git-annex verifyremote imageclf-output-storage --unsafe
"""


def test_the_id_to_verify_is_read_from_what_git_annex_shows():
    store = stores.expected_url(stores.Path("/data/ria/output"))
    assert stores.safe_id(LISTING, "imageclf-output-storage", store) == "7"
    verified = "There have been no changes to the remote's configuration since it was last " \
               "verified.\n"
    assert stores.safe_id(verified, "imageclf-output-storage", store) is None


def test_a_remote_configured_for_another_store_is_not_verified():
    with pytest.raises(SweepError, match="not with url=ria\\+file:///elsewhere"):
        stores.safe_id(LISTING, "imageclf-output-storage",
                       stores.expected_url(stores.Path("/elsewhere")))
    # a remote of the same type elsewhere is refused too: the location decides
    with pytest.raises(SweepError, match="url=ria\\+file:///data/ria/output"):
        stores.safe_id(LISTING, "imageclf-output-storage", stores.ARCHIVES_CONFIG)


def test_a_store_keeps_a_dataset_by_its_id():
    assert stores.store_repo(stores.Path("/s"), "94a9fc21-1cdb") == stores.Path("/s/94a/9fc21-1cdb")
    assert stores.ria_url(stores.Path("/s/input")) == "ria+file:///s/input"


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    """A DataLad dataset on branch main with one annexed file, and its RIA stores set up."""
    # the commands' session log goes here, not into the git folder of the checkout under test
    log = terminal.SessionLog(tmp_path / "logs")
    monkeypatch.setattr(terminal, "LOG", log)
    yield make_dataset(tmp_path)
    log.close()


def make_dataset(tmp_path):
    root = tmp_path / "ds"
    sh(["datalad", "create", str(root)], tmp_path)
    sh(["git", "checkout", "--quiet", "-B", "main"], root)
    (root / "input.bin").write_bytes(b"\0input" * 100)
    sh(["datalad", "save", "-m", "input"], root)
    store = stores.for_sweep(root, None, always=True)  # the SLURM default: in the dataset's .git
    store.set_up()
    return root, store


def job_branch(runner: Jobs, name: str):
    """What a job leaves in its clone of the input store: a branch with a new annexed output."""
    folder = runner.scratch / name
    with runner.shell(name) as shell:
        runner.clone(folder, git(runner.root, "rev-parse", "HEAD"), f"sweep/demo/{name}", shell)
    (folder / "model.bin").write_bytes(b"\0" + name.encode() * 1000)
    sh(["git", "annex", "add", "--quiet", "model.bin"], folder)
    sh(["git", "commit", "--quiet", "-m", f"job {name}"], folder)
    return folder


def demo_runner(root, store) -> Jobs:
    demo = Sweep("demo", "sweeps/demo.yaml", {s: f"params/{s}.yaml" for s in STAGES},
                 (Job("a", {}),))
    return Jobs(root, demo, "none", store)


def push(runner: Jobs, folder, name: str, start=None) -> None:
    with runner.shell(name) as shell:
        runner.push(folder, f"refs/heads/sweep/demo/{name}", shell, start)


def test_a_job_pushes_to_the_output_store_and_the_dataset_learns_where_its_output_is(dataset):
    root, store = dataset
    runner = demo_runner(root, store)
    head = git(root, "rev-parse", "HEAD")
    folder = job_branch(runner, "a")
    push(runner, folder, "a", head)
    # the branch is in the output store, not yet in the dataset, which was not touched
    assert not has_ref(store.results, "refs/heads/sweep/demo/a:accuracy.json")  # no result
    assert git(store.results, "rev-parse", "sweep/demo/a") == git(folder, "rev-parse", "HEAD")
    assert not git(root, "branch", "--list", "sweep/demo/a")
    # the launcher packs the store's refs now and then: the branch is still there
    assert (store.results / "refs/heads/sweep/demo/a").exists()
    store.pack_refs()
    assert not (store.results / "refs/heads/sweep/demo/a").exists()
    assert "refs/heads/sweep/demo/a" in (store.results / "packed-refs").read_text()
    store.collect("demo")
    assert git(root, "rev-parse", "sweep/demo/a") == git(folder, "rev-parse", "HEAD")
    where = git(root, "annex", "whereis", "--branch", "sweep/demo/a").split("whereis ")
    model = next(entry for entry in where if entry.startswith("sweep/demo/a:model.bin"))
    assert "(1 copy)" in model and "[imageclf-output-storage]" in model, where
    # only the job's new file went to the output store, not the input it started from
    assert "imageclf-output-storage" not in git(root, "annex", "whereis", "input.bin")
    # a second sweep reuses the siblings (no "sibling exists") and the push is incremental
    store.set_up()
    assert git(root, "remote").split().count(stores.OUTPUT) == 1
    # a local sweep without --ria still pushes into the dataset: its clones leave the stores'
    # special remotes off (auto-enabled, unverified, they would block every write)
    local = Jobs(root, runner.sweep, "none", stores.InDataset(root))
    folder = job_branch(local, "b")
    push(local, folder, "b")
    assert git(root, "rev-parse", "sweep/demo/b") == git(folder, "rev-parse", "HEAD")
    # stores in another folder would need other siblings: refused, with what to do
    with pytest.raises(SweepError, match="git remote rename imageclf-input old-"):
        stores.RiaStores(root, root.parent / "other").set_up()


def test_without_verifying_the_store_remotes_git_annex_refuses_the_push(dataset, monkeypatch):
    root, store = dataset
    runner = demo_runner(root, store)
    monkeypatch.setattr(stores, "verify", lambda *args: None)
    folder = job_branch(runner, "a")
    with pytest.raises(JobFailed):
        push(runner, folder, "a", git(root, "rev-parse", "HEAD"))
    assert "unverified special remote" in (runner.logs / "a.log").read_text()
    assert not git(store.results, "branch", "--list", "sweep/demo/a")



def test_an_output_the_input_store_lacks_goes_to_the_output_store_even_if_unchanged(dataset):
    """A prepare in a clone that never had the pixels' content recomputes the same bytes: git
    sees no change, but the jobs can get them only from the output store."""
    root, store = dataset
    (root / "pixels.bin").write_bytes(b"\0pixels" * 100)
    sh(["datalad", "save", "-m", "pixels"], root)
    sh(["git", "annex", "drop", "--force", "pixels.bin"], root)  # the clone without content
    store.set_up()  # the input store gets the commit, not the content
    runner = demo_runner(root, store)
    head = git(root, "rev-parse", "HEAD")
    folder = job_branch(runner, "a")
    sh(["git", "annex", "get", "--quiet", "pixels.bin"], folder, check=False)
    assert not (folder / "pixels.bin").exists()  # nowhere to get it from
    sh(["git", "annex", "unlock", "pixels.bin"], folder)
    (folder / "pixels.bin").unlink()
    (folder / "pixels.bin").write_bytes(b"\0pixels" * 100)  # recomputed: the same bytes
    sh(["git", "annex", "add", "--quiet", "pixels.bin"], folder)
    assert not git(folder, "diff", "--name-only", head, "HEAD", "--", "pixels.bin")
    push(runner, folder, "a", head)
    store.collect("demo")
    assert "[imageclf-output-storage]" in git(root, "annex", "whereis", "pixels.bin")


def test_a_reused_prepares_outputs_got_after_the_input_store_was_pushed_reach_the_jobs(dataset):
    """reuse.py gets a prepare run's outputs into the dataset after set_up pushed the input
    store (a fresh clone after the tutorial has none): found by the SLURM benchmark, where
    every job failed to get the pixels."""
    root, store = dataset
    content = b"\0pixels" * 100
    (root / "pixels.bin").write_bytes(content)
    sh(["datalad", "save", "-m", "pixels"], root)
    sh(["git", "annex", "drop", "--force", "pixels.bin"], root)  # the clone without content
    store.set_up()  # the input store gets the commit, not the content
    copy = root.parent / "got"
    copy.write_bytes(content)
    sh(["git", "annex", "reinject", str(copy), "pixels.bin"], root)  # reuse.py's datalad get
    base = "refs/sweep-bases/demo/k"
    git(root, "update-ref", base, "HEAD")
    store.share_bases("demo", ["pixels.bin"])
    runner = demo_runner(root, store)
    folder = runner.scratch / "a"
    with runner.shell("a") as shell:
        runner.clone(folder, base, "sweep/demo/a", shell)
    sh(["git", "annex", "get", "--quiet", "pixels.bin"], folder)
    assert (folder / "pixels.bin").read_bytes() == content
    assert git(store.results, "rev-parse", base) == git(root, "rev-parse", "HEAD")
