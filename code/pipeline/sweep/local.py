"""The local executor: a sweep's jobs in a pool of threads on this machine, ``-j N`` at a time.

Shared prepares are submitted first (the pool starts tasks in order, so no job waits in vain);
with ``-j N`` up to the number of cores, each running job is pinned to its share of them.
"""
from __future__ import annotations

import concurrent.futures
import os
import queue
import shutil

from .jobs import Jobs
from .shell import JobFailed, Outcome, Stopped


def core_shares(parallel: int) -> list[str | None]:
    """One share of this process's cores per job slot (``0``, ``1``; ``0-1``, ``2-3``...), so
    that jobs running together do not oversubscribe the cores: a job's random forest
    (n_jobs=-1) and its container see only its share. Results do not depend on it. None when
    there are fewer cores than slots, or one slot."""
    cores = sorted(os.sched_getaffinity(0))
    if parallel < 2 or parallel > len(cores) or not shutil.which("taskset"):
        return [None] * max(parallel, 1)
    bounds = [len(cores) * slot // parallel for slot in range(parallel + 1)]
    return [",".join(str(c) for c in cores[bounds[slot]:bounds[slot + 1]])
            for slot in range(parallel)]


class LocalExecutor:
    stopped = "the others stopped and left no clone, branch or container behind"

    def __init__(self, parallel: int) -> None:
        self.slots = parallel
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.free_cores: queue.SimpleQueue = queue.SimpleQueue()
        for cores in core_shares(parallel):
            self.free_cores.put(cores)

    def describe(self, plan) -> str:
        return (f"running {len(plan.todo)}, {self.slots} at a time, {len(plan.prepares)} "
                "prepare run(s) shared by them")

    def require(self) -> None:
        """Nothing beyond this machine."""

    def check_leftovers(self, root, sweep) -> None:
        """A local sweep's jobs die with it: nothing can be left running."""

    def run(self, plan, jobs: Jobs, progress) -> list[Outcome]:
        self.pool = concurrent.futures.ThreadPoolExecutor(self.slots, thread_name_prefix="sweep")

        def base(key, job) -> str:
            progress.preparing(+1)
            try:
                return jobs.run_base(key, job, plan.start)
            finally:
                progress.preparing(-1)

        bases = {key: self.pool.submit(base, key, job) for key, job in plan.prepares.items()}

        def one(job) -> Outcome:
            key = plan.key(job)
            try:  # not planned: reused from HEAD, or done by an earlier run of the sweep
                start = bases[key].result() if key in bases else jobs.run_base(key, job,
                                                                                plan.start)
            except JobFailed as error:  # its prepare failed: that log says why
                return jobs.base_failed(job, error)
            if jobs.processes.stop.is_set():
                raise Stopped()
            progress.started(job.name)
            cores = self.free_cores.get() if self.slots > 1 else None
            try:
                return jobs.run_job(job, start, cores)
            finally:
                if cores:
                    self.free_cores.put(cores)

        futures = [self.pool.submit(one, job) for job in plan.todo]
        outcomes = []
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.5)
                for future in done:
                    outcomes.append(future.result())
                    progress.finished(outcomes[-1])
                progress.tick()
        except Stopped:  # a job saw the sweep stopping before the main thread did
            raise KeyboardInterrupt from None
        # (on an interrupt, cancel() stops the jobs first, then waits for them)
        self.pool.shutdown(wait=True)
        return outcomes

    def cancel(self, jobs: Jobs) -> None:
        """Ctrl-C: every running command gets SIGINT (a stage settles its run), then each job
        removes its clone; pushes already under way finish, so no branch is half there."""
        jobs.processes.interrupt()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
