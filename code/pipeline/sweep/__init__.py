"""Sweeps: many parametrizations at once, each a job on a branch of its own, the FAIRly-big way
(``python -m pipeline sweep sweeps/NAME.yaml -j N``; its command line is in pipeline/cli.py).

Each module uses only those listed above it:

    model        a sweep and its jobs, as data
    sweepfile    a sweep file read into a Sweep (checked against a JSON Schema)
    gitbatch     git-annex's view of many job branches in a constant number of processes
    merge        the jobs' results in the dataset, and the one commit that merges them
    shell        one job's commands: process groups, its log, its event stream
    stores       where jobs clone from and push to: the dataset, or RIA stores
    jobs         the anatomy of a job: clone, stages, push (the same for every executor)
    reuse        the prepare run at HEAD that jobs can start from
    progress     the sweep's progress line
    local        executor: a pool of jobs on this machine
    slurm_batch  the sbatch script and arrays, SLURM's commands
    slurm_task   one SLURM array task (the job code, run by sbatch)
    slurm        executor: SLURM array tasks, followed by their event streams
    launcher     the sweep: check, plan, announce, run with an executor, merge, report
    summary      the sweep's table and plot
"""
