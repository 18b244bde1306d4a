"""Drive the tutorial from outside the container: datalad, git-annex and the container engine.

Never imported by the notebooks (they use ``imageclf``). Run it as ``python -m pipeline``.

Modules:
    commands   print-then-run helper for datalad and git commands
    inputdata  the Imagenette input dataset and its clone in data/raw
    container  build the software image and register it with datalad-container
    engine     the call format of every containers-run: podman/docker, no network, user's uid
    stages     prepare/train/evaluate as datalad (containers-)run calls of papermill
    cli        the command line
"""
