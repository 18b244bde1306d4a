"""The software container: its recipe and the adapter every ``datalad containers-run`` calls.

Files:
    Containerfile      the image (build context: code/); Apptainer.def the same for Apptainer
    requirements.lock  the image's pinned packages (requirements.in: what we ask for)
    containers.conf    podman settings the adapter applies where podman needs them
    install-engine.sh  `make engine`: podman where it is missing
    adapter.py         the registered call format: the engine, the image, the isolated run
    callformat.py      what datalad passes to the adapter: image, declared outputs, command
    sandbox.py         what a run may touch in the dataset, and whom it runs as
    grant.py           as root: write access to the run's outputs only, journalled, handed back
    runlock.py         every containers-run holds the dataset's lock
    daemon.py          whether a Docker daemon can run our containers (dockerd.sh starts one)
    rootless.py        rootless podman storage that can run containers as the user

Standard library only (``pipeline.errors`` and ``imageclf.project`` are too): datalad runs the
adapter with whatever python3 the machine has. ``python -m pipeline container`` builds and
registers the image (pipeline/image.py).
"""
