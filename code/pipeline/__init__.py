"""Drive the tutorial from outside the container: datalad, git-annex and the container engine.

Never imported by the stage notebooks (they use ``imageclf``). Run it as ``python -m pipeline``.
The container adapter that every containers-run calls lives beside the recipe, in code/container/
(engine.py here only forwards to it, for run records made before it moved).

Modules (one per mechanism first, then what the commands do):
    process    running a process: its own group, stopped as a whole; signals as Interrupted
    git        git queries, plumbing that must succeed, many objects in one process
    lock       one writer per dataset: an flock in .git naming its holder
    events     what one part tells another: JSON lines (a notebook's cells, a job's commands)
    schema     JSON Schema checks of stages.yaml and sweep files, errors naming file and key
    errors     PipelineError (what the user can fix) and the named exit codes
    commands   print-then-run for datalad and git, as a reader types them
    terminal   what the terminal shows of a command: datalad's JSON results, events; full log
    output_lines  what other tools' lines mean to the terminal (noise, progress, findings)
    progress   progress bars (tqdm): redrawn on a terminal, sparse plain lines in a log
    cli        the command line behind the Makefile's targets
    checks     params files, -p values and paths, checked before anything runs
    recovery   a failed, interrupted or killed run: recorded or undone, read from the history
    inputdata  the Imagenette input dataset (download-url --archive) and its clone in data/raw
    image      build the software image and register it with datalad-container
    declaration  stages.yaml: each stage's notebook, params file, files read and written
    stages     each declared stage as a datalad (containers-)run call of papermill
    story      the handbook's story, step by step, resumable
    history    run records (datalad's reader) and what produced each output
    compare    every evaluation across branches and tags, as a table and a plot
    verify     rerun records on a scratch branch and compare every output
    report     every executed notebook in the history as HTML
    overhead   containers-run against the same papermill call run directly
    sweep/     many parametrizations as jobs, one branch each (its __init__ lists its modules)
    outcomes   each writing command's exit code and error, one JSON line in .git (for status)
    workshop/  a room on one server's JupyterHub: accounts, shared stores, clones, hub, status
"""
