"""Drive the tutorial from outside the container: datalad, git-annex and the container engine.

Never imported by the stage notebooks (they use ``imageclf``). Run it as ``python -m pipeline``.
The container adapter that every containers-run calls lives beside the recipe, in code/container/
(engine.py here only forwards to it, for run records made before it moved).

Modules:
    cli        the command line behind the Makefile's targets
    commands   print-then-run helper for datalad and git; Ctrl-C and SIGTERM stop a whole run
    terminal   what the terminal shows of a command (lesson, progress, outcome); full log in .git/
    output_lines  what a line of a command's output means to the terminal (noise, progress...)
    progress   the progress line: redrawn on a terminal, sparse plain lines in a log
    lock       one writer per dataset: an flock in .git naming its holder
    checks     params files, -p values and paths, checked before anything runs
    recovery   a failed, interrupted or killed run: recorded or undone, read from the history
    inputdata  the Imagenette input dataset (download-url --archive) and its clone in data/raw
    image      build the software image and register it with datalad-container
    errors     PipelineError (what the user can fix) and the named exit codes
    stages     prepare/train/evaluate as datalad (containers-)run calls of papermill; recovery
    story      the handbook's story, step by step, resumable
    history    run records (datalad's reader) and what produced each output
    compare    every evaluation across branches and tags, as a table and a plot
    verify     rerun records on a scratch branch and compare every output
    report     every executed notebook in the history as HTML
    overhead   containers-run against the same papermill call run directly
"""
