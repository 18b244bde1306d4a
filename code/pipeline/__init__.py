"""Drive the tutorial from outside the container: datalad, git-annex and the container engine.

Never imported by the stage notebooks (they use ``imageclf``). Run it as ``python -m pipeline``.

Modules:
    cli        the command line behind the Makefile's targets
    commands   print-then-run helper for datalad and git; Ctrl-C stops a whole run
    terminal   what the terminal shows of a command (lesson, progress, outcome); full log in .git/
    progress   the progress line: redrawn on a terminal, sparse plain lines in a log
    inputdata  the Imagenette input dataset (download-url --archive) and its clone in data/raw
    container  build the software image and register it with datalad-container
    engine     the call format of every containers-run: podman/docker, no network, user's uid
    stages     prepare/train/evaluate as datalad (containers-)run calls of papermill; recovery
    story      the handbook's story, step by step, resumable
    history    run records (datalad's reader) and what produced each output
    compare    every evaluation across branches and tags, as a table and a plot
    verify     rerun records on a scratch branch and compare every output
    report     every executed notebook in the history as HTML
    overhead   containers-run against the same papermill call run directly
"""
