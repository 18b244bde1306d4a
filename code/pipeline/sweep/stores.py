"""Where a sweep's jobs clone from and push to: the dataset itself, or a pair of RIA stores.

``InDataset`` (the local executor's default): jobs clone the dataset and push their branch and
annexed outputs into it under its lock; on one file system that is hard links, no copies.

``RiaStores`` (the SLURM executor always, the local one with ``--ria DIR``), the FAIRly-big way:
the dataset gets two RIA siblings, ``imageclf-input`` in ``DIR/input`` and ``imageclf-output`` in
``DIR/output`` (each with its ORA special remote ``NAME-storage``). The launcher pushes the
dataset (and data/raw) to the input store; each job clones from it, pushes its annexed outputs
to the output store's special remote and its branch with an ``flock``-ed ``git push`` to the
output store, never touching the dataset; the launcher then fetches the branches and runs
``git annex fsck --fast --from imageclf-output-storage`` so the dataset knows where the outputs
are. git-annex 10.2026 refuses writes and pushes while an auto-enabled special remote is not
verified: every clone verifies the two store remotes (``verify``) after checking that their
configuration names the expected store.
"""
from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

from .. import commands, lock
from ..git import config, git
from ..inputdata import SUBDATASET
from .gitbatch import fsck_trees
from .model import SweepError

INPUT, OUTPUT = "imageclf-input", "imageclf-output"
DEFAULT_FOLDER = "imageclf-ria"  # under the dataset's .git unless --ria names another folder
PUSH_LOCK = "imageclf-push.lock"  # in the output store's repository: one git push at a time


def storage(sibling: str) -> str:
    """The ORA special remote that ``create-sibling-ria -s NAME`` makes beside the git sibling."""
    return f"{sibling}-storage"


def ria_url(store: Path) -> str:
    return f"ria+file://{store}"


def store_repo(store: Path, dataset_id: str) -> Path:
    """Where a RIA store keeps a dataset: its id split after three characters."""
    return store / dataset_id[:3] / dataset_id[3:]


def dataset_id(root: Path) -> str:
    found = config(root, "datalad.dataset.id", str(root / ".datalad" / "config"))
    if not found:
        raise SweepError(f"{root} has no DataLad dataset id (.datalad/config): RIA stores keep "
                         "datasets by id; run the sweep in the project's dataset.")
    return found


def expected_url(store: Path) -> str:
    """What the configuration of a store's special remote must show to be verified."""
    return f"url={ria_url(store)}"


# data/raw's archive remote (datalad-archives, auto-enabled by `datalad clone`) reads archives
# from the same annex: it has no location that data could leak to, and it blocks datalad push.
ARCHIVES, ARCHIVES_CONFIG = "datalad-archives", "externaltype=datalad-archives"


def safe_id(listing: str, remote: str, expected: str) -> str | None:
    """From ``git annex verifyremote REMOTE``'s output: the ID for ``--safe ID``, or None when
    the remote is already verified (or unknown). Refuses a configuration without ``expected``
    (``url=ria+file://STORE``: a remote of another store)."""
    asked = re.search(rf"verifyremote {re.escape(remote)} --safe (\S+)", listing)
    if not asked:
        return None
    shown = listing.split("\n\n")[0].split()
    if expected not in shown:
        raise SweepError(f"the special remote {remote} is configured as "
                         f"{' '.join(s for s in shown if '=' in s)}, not with {expected}: run "
                         f"the sweep with --ria naming the folder of that store, or rename the "
                         f"remote (git annex renameremote {remote} old-{remote}) so that the "
                         "sweep makes its own.")
    return asked.group(1)


class InDataset:
    """Jobs clone the dataset and push into it under its lock (the local default)."""

    base_remote = "origin"  # where a job fetches its shared prepare's ref from
    # The clone needs no special remote; one auto-enabled (the dataset's RIA stores after a
    # SLURM sweep) would block its writes until verified (git-annex 10.2026).
    init_options = ("--no-autoenable",)

    def __init__(self, root: Path) -> None:
        self.root = root
        self.source = root
        self.results = root  # where pushed branches and prepare refs are found
        self.results_place = "in the dataset"
        self.push_guard = threading.Lock()  # lock.hold is re-entrant per process, not per thread

    def set_up(self) -> None:
        """Nothing to create: the dataset is its own store."""

    def connect(self, shell, clone: Path) -> None:
        """Before the checkout: nothing beyond the clone's origin."""

    def ready(self, shell, clone: Path, start: str, image: str) -> None:
        """After ``git annex init``: the origin is a git remote, nothing to verify; the image
        comes by hard link from the dataset when the first stage needs it."""

    def push(self, shell, clone: Path, ref: str, start: str | None, label: str) -> None:
        with self.push_guard, lock.hold(self.root, command=label):
            # Once started, a push finishes even on Ctrl-C (its group does not get the signal),
            # so a branch is in the dataset whole or not at all.
            shell.sh(["git", "annex", "copy", "--quiet", "--to", "origin"], clone, "push")
            shell.sh(["git", "push", "--quiet", "origin", f"HEAD:{ref}"], clone, "push")
            shell.sh(["git", "annex", "fsck", "--fast", "--quiet", "--branch", ref], self.root,
                     "push")

    def share_bases(self, sweep_name: str, outputs: list[str]) -> None:
        """The jobs read the prepare refs and their outputs from the dataset itself."""

    def collect(self, sweep_name: str) -> None:
        """The branches are in the dataset already."""

    def pack_refs(self) -> None:
        """git's own ``gc --auto`` after the pushes is enough for a local sweep's few jobs."""


class RiaStores:
    """Jobs clone from the input store and push to the output store (the FAIRly-big layout)."""

    base_remote = OUTPUT
    init_options = ()  # the stores' special remotes are auto-enabled, then verified (ready)

    def __init__(self, root: Path, folder: Path) -> None:
        self.root, self.folder = root, folder.resolve()
        self.input, self.output = self.folder / "input", self.folder / "output"
        ident = dataset_id(root)
        self.source = store_repo(self.input, ident)
        self.results = store_repo(self.output, ident)
        self.results_place = f"in the output store ({OUTPUT})"

    # -- in the user's dataset, under its lock ------------------------------------------------
    def set_up(self) -> None:
        """Create the two siblings once (reused later), verify them, and bring the input store
        up to date with ``datalad push`` (incremental: only what it lacks is copied)."""
        print(f"  results through RIA stores in {self.folder}: jobs clone from {INPUT}, push "
              f"to {OUTPUT}", flush=True)
        with lock.hold(self.root, command=f"sweep: RIA stores in {self.folder}"):
            for name, store in ((INPUT, self.input), (OUTPUT, self.output)):
                self.sibling(name, store)
            for name, store in ((INPUT, self.input), (OUTPUT, self.output)):
                verify_here(self.root, storage(name), expected_url(store))
            if (self.root / SUBDATASET / ".git").exists():
                verify_here(self.root / SUBDATASET, ARCHIVES, ARCHIVES_CONFIG)
            commands.run(["datalad", "push", "--recursive", "--to", INPUT], cwd=self.root)

    def sibling(self, name: str, store: Path) -> None:
        """The sibling in the store; for the input store, data/raw's too (prepare reads it)."""
        expected = store_repo(store, dataset_id(self.root))
        url = git(self.root, "remote", "get-url", name)
        raw = self.root / SUBDATASET
        recursive = name == INPUT
        raw_missing = recursive and (raw / ".git").exists() and not git(raw, "remote", "get-url",
                                                                         name)
        if url and Path(url) != expected:
            raise SweepError(f"the dataset's sibling {name} is the store repository {url}, not "
                             f"{expected}: run the sweep with the --ria folder it was made "
                             f"with, or free the names for new stores (git remote rename {name} "
                             f"old-{name}; git annex renameremote {storage(name)} "
                             f"old-{storage(name)}).")
        if not url or raw_missing:
            with git_stops_at(lock.git_dir(self.root)):
                commands.run(["datalad", "create-sibling-ria", "--name", name, "--new-store-ok",
                              "--existing", "reconfigure", *(["--recursive"] if recursive else []),
                              ria_url(store)], cwd=self.root)

    def share_bases(self, sweep_name: str, outputs: list[str]) -> None:
        """Prepare refs marked in the dataset (a prepare run reused from your branch) go to the
        output store, where the jobs fetch their start from, and so do that run's ``outputs``
        the input store lacks: reuse.py got their content into the dataset after set_up pushed
        it (a fresh clone after the tutorial has none), and jobs look in the output store."""
        theirs = refs(self.results, sweep_name)
        missing = [ref for ref, sha in refs(self.root, sweep_name).items()
                   if ref.startswith("refs/sweep-bases/") and theirs.get(ref) != sha]
        if missing:
            with lock.hold(self.root, command=f"sweep {sweep_name}: push to {OUTPUT}"):
                if outputs:
                    commands.run(["git", "annex", "copy", "--quiet", "--to", storage(OUTPUT),
                                  "--not", "--in", storage(INPUT), "--", *outputs],
                                 cwd=self.root)
                commands.run(["git", "push", "--quiet", OUTPUT,
                              *(f"{ref}:{ref}" for ref in missing)], cwd=self.root)

    def collect(self, sweep_name: str) -> None:
        """The job branches and prepare refs from the output store into the dataset, and
        where their annexed outputs are (fsck --from: the dataset records the store's copies)."""
        if not (self.results / "HEAD").exists():
            return
        refspecs = [f"refs/heads/sweep/{sweep_name}/*:refs/heads/sweep/{sweep_name}/*",
                    f"refs/sweep-bases/{sweep_name}/*:refs/sweep-bases/{sweep_name}/*"]
        before = refs(self.root, sweep_name)
        with lock.hold(self.root, command=f"sweep {sweep_name}: fetch from {OUTPUT}"):
            commands.run(["git", "fetch", "--quiet", OUTPUT, *refspecs], cwd=self.root)
            fetched = [ids.split()[1] for ref, ids in refs(self.root, sweep_name).items()
                       if before.get(ref) != ids]
            fsck_trees(self.root, fetched, "--from", storage(OUTPUT))

    def pack_refs(self) -> None:
        """Pack the output store's refs between two jobs' pushes (their flock): each push reads
        every ref the store has, and thousands of loose ref files about doubled its time."""
        if (self.results / "HEAD").exists():
            commands.run(["flock", str(self.results / PUSH_LOCK), "git", "pack-refs", "--all"],
                         cwd=self.results, quiet=True)

    # -- in a job's clone ---------------------------------------------------------------------
    def connect(self, shell, clone: Path) -> None:
        """The output store as a git remote (prepare refs come from there, branches go there),
        and the input store as where data/raw is installed from (as datalad clone would set)."""
        shell.sh(["git", "remote", "add", OUTPUT, str(self.results)], clone)
        shell.sh(["git", "config", "datalad.get.subdataset-source-candidate-200" + INPUT,
                  ria_url(self.input) + "#{id}"], clone)

    def ready(self, shell, clone: Path, start: str, image: str) -> None:
        """Verify the auto-enabled store remotes (else no write, no push); a job starting from a
        shared prepare learns that its annexed outputs are in the output store; the image."""
        for name, store in ((INPUT, self.input), (OUTPUT, self.output)):
            verify(shell, clone, storage(name), expected_url(store))
        if start.startswith("refs/"):
            shell.sh(["git", "annex", "fsck", "--fast", "--quiet", "--from", storage(OUTPUT)],
                     clone)
        # The image is a copy from the store here (not a hard link): counted as the job's fixed
        # cost, not as its first stage's.
        if image:
            shell.sh(["git", "annex", "get", "--quiet", image], clone, "image")

    def push(self, shell, clone: Path, ref: str, start: str | None, label: str) -> None:
        """Every annexed file the clone holds and the input store lacks (its new outputs, and
        outputs equal to ones your dataset has but never pushed, such as a prepare's pixels in a
        clone without their content) to the output store's special remote, then its branch, one
        ``git push`` at a time (flock); the git-annex branch stays in the clone."""
        shell.sh(["git", "annex", "copy", "--quiet", "--to", storage(OUTPUT), "--not", "--in",
                  storage(INPUT)], clone, "push")
        shell.sh(["flock", str(self.results / PUSH_LOCK), "git", "push", "--quiet", OUTPUT,
                  f"HEAD:{ref}"], clone, "push")


@contextlib.contextmanager
def git_stops_at(folder: Path):
    """A store inside the dataset's .git: without a ceiling, git finds the dataset above the new
    store repository and datalad refuses to create it ("known to a repository above")."""
    before = os.environ.get("GIT_CEILING_DIRECTORIES")
    os.environ["GIT_CEILING_DIRECTORIES"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            del os.environ["GIT_CEILING_DIRECTORIES"]
        else:
            os.environ["GIT_CEILING_DIRECTORIES"] = before


def refs(repo: Path, sweep_name: str) -> dict[str, str]:
    """A sweep's job branches and prepare refs -> "COMMIT TREE"."""
    listed = git(repo, "for-each-ref", "--format=%(refname) %(objectname) %(tree)",
                 f"refs/heads/sweep/{sweep_name}/", f"refs/sweep-bases/{sweep_name}/")
    return dict(line.split(" ", 1) for line in listed.splitlines() if line)


def verify(shell, clone: Path, remote: str, expected: str) -> None:
    """``git annex verifyremote REMOTE`` shows the configuration and an ID; ``--safe ID``."""
    listing = git(clone, "annex", "verifyremote", remote)
    shell.note(f"\n$ git annex verifyremote {remote}    (in {clone})\n{listing}\n")
    ident = safe_id(listing, remote, expected)
    if ident is not None:
        shell.sh(["git", "annex", "verifyremote", remote, "--safe", ident], clone)


def verify_here(root: Path, remote: str, expected: str) -> None:
    """The same in the user's dataset (or data/raw), where ``datalad push`` needs it."""
    listing = git(root, "annex", "verifyremote", remote)
    ident = safe_id(listing, remote, expected)
    if ident is not None:
        args = ["git", "annex", "verifyremote", remote, "--safe", ident]
        commands.run(args, cwd=root)


def for_sweep(root: Path, ria: str | None, always: bool = False):
    """The stores a sweep uses: RIA stores in ``ria`` (or, ``always``, the default folder in the
    dataset's git dir), else the dataset itself."""
    if ria:
        return RiaStores(root, Path(ria))
    if always:
        return RiaStores(root, lock.git_dir(root) / DEFAULT_FOLDER)
    return InDataset(root)
