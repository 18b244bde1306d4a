"""``python -m benchmark`` (``make bench``): our stages against the handbook's scripts, measured
side by side in one run on the same data, machine and container engine; then sweeps locally,
through SLURM and at scale.

Modules:
    handbook/   the baseline: the handbook's prepare/train/evaluate scripts, one process each
    peak        run a command and print its wall time and peak RSS (stdlib only)
    generate    a generated archive of the official size (ten classes, 13,394 images)
    measure     each measurement: image loading, train memory, the story, overhead, ten classes
    isolation_cost  the container's isolation per stage, with and without 100,000 more files
    timing      a sweep timed from outside: its jobs' event streams, the lock, SLURM's task spans
    sweep       a sweep with -j 1 and -j 2: the speedup and the fixed cost per job
    slurm       the same sweep through SLURM against local -j 2
    scale       SLURM sweeps of growing size, every phase timed, projected to 10,000 jobs
    branches    finished job branches fabricated with git fast-import, for the git-side phases
    __main__    runs them, prints the table with every target beside its figure, writes JSON
"""
