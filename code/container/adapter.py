"""The container adapter: every ``datalad containers-run`` step of the dataset goes through it.

The dataset registers its container with the call format

    python3 code/container/adapter.py run {img} --outputs {{outputs}} -- {cmd}

so a run record names only paths inside the dataset (portable to any clone), the engine is
chosen on the machine that runs or reruns it (``$CONTAINER_ENGINE`` if set, else podman, else
docker), and datalad itself tells the adapter the run's declared outputs (``{outputs}``, filled
in by ``datalad run`` and again by ``datalad rerun``), also for a containers-run typed by hand.
Compared with datalad-container's own docker adapter, this one

- checks that a Docker daemon can run the container as required (daemon.py) before anything;
- holds the dataset's lock (runlock.py), as every command that writes to the dataset does;
- loads the image from the dataset (``{img}``, a ``docker save`` folder kept in the annex) only
  when the engine lacks it, without ``docker pull`` (which fails for a locally built image);
- runs with no network, no capabilities, ``no-new-privileges``, never as host root, mounting
  only the dataset at /dataset with its ``.git``, subdatasets and machinery read-only and what
  git ignores hidden; as root only the declared outputs are writable (sandbox.py, grant.py);
- stops the container itself when interrupted (SIGINT, SIGTERM, SIGHUP): the engine runs it
  outside our process group. Containers are labelled with the dataset and the adapter process,
  so the next start removes those of an adapter that was killed (SIGKILL);
- applies the project's podman settings (containers.conf, beside this file) where needed.

A record made before the call format named ``{outputs}`` still runs (callformat.py).
``python -m pipeline container`` uses the same engine helpers to build and register the image.
Standard library only, so any python3 can run it: run as a script, it puts the dataset's
code/ on ``sys.path`` from its own location to import its siblings and the shared helpers.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

if __name__ == "__main__":  # python3 code/container/adapter.py: code/ holds the packages below
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from container import callformat, daemon, grant, rootless, runlock, sandbox  # noqa: E402
from imageclf.project import NotInDataset, find_root  # noqa: E402
from pipeline import events, process  # noqa: E402
from pipeline.errors import EXIT_ADAPTER, EXIT_USAGE, PipelineError  # noqa: E402

MOUNT_POINT = "/dataset"
PODMAN_CONF = Path(__file__).resolve().parent / "containers.conf"
DATASET_LABEL = "imageclf.dataset"  # every container of ours says which dataset it mounts...
ADAPTER_LABEL = "imageclf.adapter"  # ...and which adapter process started it


class EngineError(PipelineError):
    """No usable container engine, or the image cannot be loaded."""


def engine_name() -> str:
    """podman or docker, as this machine offers them (``$CONTAINER_ENGINE`` decides if set)."""
    wanted = os.environ.get("CONTAINER_ENGINE")
    if wanted:
        if not shutil.which(wanted):
            raise EngineError(f"CONTAINER_ENGINE={wanted} but {wanted!r} is not on PATH.")
        return wanted
    if shutil.which("podman"):
        return "podman"
    if shutil.which("docker"):
        return "docker"
    raise EngineError(
        "No container engine found. Install podman (Debian/Ubuntu: `sudo apt-get install podman "
        "runc`; as root `make setup` does it) or Docker, or run the stages without a container: "
        "CONTAINER=none."
    )


def engine_env(engine: str) -> dict[str, str]:
    """The environment for calling ``engine``: podman gets the project's settings when runc is
    there to honour them and the user has not chosen a configuration of their own, and rootless
    podman a storage that can run containers as the user (rootless.py)."""
    env = dict(os.environ)
    if engine == "podman" and "CONTAINERS_CONF" not in env and shutil.which("runc"):
        env["CONTAINERS_CONF"] = str(PODMAN_CONF)
    rootless_podman = engine == "podman" and os.name == "posix" and os.getuid() != 0
    if rootless_podman and "CONTAINERS_STORAGE_CONF" not in env:
        storage = rootless.storage_conf(env.get("CONTAINERS_CONF"))
        if storage:
            env["CONTAINERS_STORAGE_CONF"] = str(storage)
    return env


def engine_call(args: list[str], engine: str | None = None,
                **kwargs) -> subprocess.CompletedProcess:
    engine = engine or engine_name()
    return subprocess.run([engine, *args], env=engine_env(engine), **kwargs)


def image_id(image_dir: str | Path) -> str:
    """The id of the image saved in ``image_dir``: the digest of its config, as engines
    compute it."""
    manifest = json.loads((Path(image_dir) / "manifest.json").read_text())
    if len(manifest) != 1:
        raise EngineError(f"{image_dir} must hold exactly one image, found {len(manifest)}.")
    config = (Path(image_dir) / manifest[0]["Config"]).read_bytes()
    return "sha256:" + hashlib.sha256(config).hexdigest()


def has_image(engine: str, ident: str) -> bool:
    found = engine_call(["image", "inspect", ident], engine, capture_output=True)
    return found.returncode == 0


def ensure_loaded(engine: str, image_dir: str | Path) -> str:
    """Load the saved image into the engine unless it is there already; return its id."""
    ident = image_id(image_dir)
    if has_image(engine, ident):
        return ident
    print(f"loading the container image from {image_dir} into {engine} (once per machine)...",
          file=sys.stderr, flush=True)
    loader = subprocess.Popen([engine, "load"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              env=engine_env(engine))
    with tarfile.open(fileobj=loader.stdin, mode="w|", dereference=True) as archive:
        archive.add(str(image_dir), arcname="")
    loader.stdin.close()
    if loader.wait() != 0 or not has_image(engine, ident):
        raise EngineError(f"{engine} could not load the image saved in {image_dir}.")
    return ident


def require_usable(engine: str) -> daemon.Daemon | None:
    """Docker's daemon answers, may be reached and maps ids as we need (DaemonError names the
    fix otherwise); podman has no daemon to ask."""
    return daemon.check(engine, engine_env(engine)) if engine == "docker" else None


def as_root(engine: str, docker: daemon.Daemon | None = None) -> bool:
    """Root runs a rootful engine: the container gets the run id and only its outputs
    (sandbox.py); rootless Docker's container root is the user already."""
    rootless_docker = docker is not None and docker.rootless
    return os.name == "posix" and os.getuid() == 0 and not rootless_docker


def adapter_id(pid: int | None = None) -> str:
    """This process as ``PID-STARTTIME``: a pid alone may be reused by the time anyone checks."""
    pid = pid or os.getpid()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return f"{pid}-{fields[19]}"
    except (OSError, IndexError):
        return str(pid)


def adapter_alive(ident: str) -> bool:
    pid = ident.split("-", 1)[0]
    return pid.isdigit() and adapter_id(int(pid)) == ident


def run_command(engine: str, ident: str, command: list[str], workdir: str | Path = ".",
                name: str | None = None, hidden: list[str] | None = None,
                docker: daemon.Daemon | None = None) -> list[str]:
    """The engine command line that runs ``command`` in the image, isolated as described above."""
    workdir = Path(workdir).resolve()
    root = find_root(workdir)
    inside = (Path(MOUNT_POINT) / workdir.relative_to(root)).as_posix()
    hidden = sandbox.ignored_paths(root) if hidden is None else hidden
    args = [engine, "run", "--rm", "--init", "--network", "none",
            "--cap-drop=all", "--security-opt=no-new-privileges",
            "--label", f"{DATASET_LABEL}={root}", "--label", f"{ADAPTER_LABEL}={adapter_id()}",
            *(["--name", name] if name else []),
            # the papermill engine's cell events, when the pipeline asked for them
            *(["--env", events.SWITCH] if os.environ.get(events.SWITCH) else []),
            *sandbox.mount_args(engine, root, MOUNT_POINT, hidden), "-w", inside]
    if as_root(engine, docker):
        uid, gid = sandbox.id_mapping()
        # podman: the container's root is the run id; Docker: the process runs as it.
        args += sandbox.userns_args() if engine == "podman" else ["-u", f"{uid}:{gid}"]
    elif os.name == "posix" and not (docker and docker.rootless):
        args += ["-u", f"{os.getuid()}:{os.getgid()}"]
        if engine == "podman":
            args += ["--userns", "keep-id"]  # rootless: keep the user's uid on the mounted files
    return args + [ident, *command]


def containers_of(engine: str, root: Path) -> dict[str, str]:
    """This dataset's containers (any state): id -> the adapter that started it."""
    listed = engine_call(["ps", "-a", "-q", "--no-trunc", "--filter",
                          f"label={DATASET_LABEL}={root}"], engine, capture_output=True, text=True)
    found = {}
    for container in listed.stdout.split():
        label = f'{{{{index .Config.Labels "{ADAPTER_LABEL}"}}}}'
        owner = engine_call(["inspect", "--format", label, container], engine,
                            capture_output=True, text=True)
        found[container] = owner.stdout.strip()
    return found


def remove_containers(engine: str, containers) -> None:
    for container in containers:
        engine_call(["rm", "-f", container], engine, capture_output=True)


def recover(engine: str, root: Path) -> None:
    """Undo what an adapter killed mid-run (SIGKILL) left: its container, its grant."""
    containers = containers_of(engine, root)
    orphans = [container for container, owner in containers.items() if not adapter_alive(owner)]
    if orphans:
        print(f"removing {len(orphans)} container(s) left by an interrupted run of this dataset",
              file=sys.stderr, flush=True)
        remove_containers(engine, orphans)
    if os.name == "posix" and os.getuid() == 0:
        sandbox.remove_ignored(root, grant.revoke(root))


def stop(engine: str, name: str, client: subprocess.Popen | None) -> None:
    """Stop and remove the container (it runs under the engine, not in our process group),
    then make sure the client has gone and that nothing it created late is left."""
    engine_call(["stop", "--time", "3", name], engine, capture_output=True)
    remove_containers(engine, [name])
    if client is not None:
        try:
            client.wait(timeout=20)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
    remove_containers(engine, [name])  # created after the first removal (state Created)


def run_isolated(engine: str, ident: str, command: list[str], outputs: list[str] | None = None,
                 docker: daemon.Daemon | None = None) -> int:
    """Run ``command`` in the container; on SIGINT/SIGTERM/SIGHUP stop the container itself
    before returning 128+signal, so that nothing writes to the dataset after we return."""
    root = find_root()
    recover(engine, root)
    name = f"imageclf-{adapter_id()}-{secrets.token_hex(4)}"
    access = sandbox.Access.plan(root, outputs or [], Path.cwd(), as_root(engine, docker))
    client = None
    try:
        args = run_command(engine, ident, command, name=name, hidden=access.hidden,
                           docker=docker)
        # No interrupt between the start and `client =`: it would leave the container unstopped.
        with process.deferred():
            process.handle_termination()
            access.open()
            # A session of its own: a Ctrl-C reaches only this adapter, which stops the
            # container; the client gets SIGTERM (and passes it on) if the adapter dies.
            client = process.start(args, env=engine_env(engine), die_with_parent=True,
                                   stdin=None)
        code = client.wait()
        if code and access.as_root and not outputs:
            print("note: the container may write only the run's declared outputs "
                  "(`--output PATH`), and this run declared none"
                  + ("" if outputs is not None else " (its command was recorded by a call "
                     "format that does not pass them on: run it anew)") + ".", file=sys.stderr)
        return code
    except KeyboardInterrupt as interrupt:
        process.ignore_signals()  # a second Ctrl-C must not cut the clean-up short
        print(f"\n{process.signal_name(interrupt)}: stopping the container...",
              file=sys.stderr, flush=True)
        stop(engine, name, client)
        return process.exit_code(interrupt)
    finally:
        process.ignore_signals()  # the clean-up below runs to its end
        for path in access.close():
            print(f"removed {path}: the container wrote a path git ignores", file=sys.stderr)


def main(argv: list[str]) -> int:
    parsed = callformat.parse(argv)
    if parsed is None:
        print("usage: python3 code/container/adapter.py run IMAGE_DIR [--outputs PATH... --] "
              "COMMAND [ARGS...]", file=sys.stderr)
        return EXIT_USAGE
    image_dir, outputs, command = parsed
    try:
        engine = engine_name()
        if not (Path(image_dir) / "manifest.json").exists():
            raise EngineError(
                f"The container image in {image_dir} is not here. Get it with "
                f"`datalad get {image_dir}`, or build and register it with `make container`."
            )
        docker = require_usable(engine)
        ident = ensure_loaded(engine, image_dir)
        with runlock.held(find_root(), [str(Path(__file__)), *argv]):
            return run_isolated(engine, ident, command, outputs, docker)
    except (PipelineError, NotInDataset) as error:  # the engine, rootless podman, the sandbox
        print(f"error: {error}", file=sys.stderr)
        callformat.relock(outputs)
        return EXIT_ADAPTER
    except KeyboardInterrupt as interrupt:  # loading the image, waiting for the lock, or after
        return process.exit_code(interrupt)  # the container ended: no container to stop


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
