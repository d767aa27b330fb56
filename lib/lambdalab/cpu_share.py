"""Lambda's CPU share: a function gets memory / 1,769 of a vCPU, so Duration depends on the memory size.

Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU, 128 MB is 128/1,769 = 7.2% of one.
The runtime gives every invocation's worker process that share, for real, from its poll loop (every 5 ms):

- **Throttled** (Linux, the default): the worker's CPU time (all its threads, and the processes it started) is read
  from the kernel. Whenever it runs ahead of ``share x elapsed time since the invocation began`` the worker's whole
  process group is stopped (SIGSTOP) until it is back within its budget (SIGCONT). Waiting on I/O or sleeping uses no
  CPU, so it is not slowed. Duration, Billed Duration, timeouts and ``context.get_remaining_time_in_millis()`` then
  all agree, because the handler really takes that long.
- **Elapsed time is the environment's own**: the time this machine's other programs keep the worker waiting for a
  CPU (the kernel's ``run_delay``) is left out, both of the budget and of Duration. A Lambda execution environment
  does not share its vCPU with your browser; on a busy laptop the numbers stay the same.
- **Modelled** (no /proc or no per-process CPU clock, e.g. macOS; or ``LAMBDALAB_CPU_SHARE=model``): the handler runs
  at full speed and Duration is computed afterwards from its measured CPU time ``c`` and wall time ``w``:
  ``w - c + c / share`` (the CPU part stretched to the share, the waiting part as it was). Such invocations say
  ``modelled=True``; their timeouts are decided on the modelled Duration after the handler returns, and
  ``get_remaining_time_in_millis()`` inside the handler does not see the stretch.
- **Above one vCPU** a single-threaded handler is not faster (it cannot use a second vCPU); code with several threads
  or processes can use up to the share. Where the share is more than this machine's cores it cannot be given in
  full: a warning says so once.
- **INIT is not throttled.** Community measurements (e.g. "Lambda Cold Starts and Bootstrap Code", Bite-Sized
  Serverless) find that code outside the handler runs about as fast at 128 MB as at 1,769 MB, as if the INIT phase
  got a full vCPU or more. AWS does not document this; the course follows the measurements.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import warnings

VCPU_MB = 1_769  # memory size that gets the equivalent of one full vCPU (Lambda Developer Guide)
MODES = ("throttle", "model")


def share(memory_mb: int) -> float:
    """The vCPU share Lambda gives a function of ``memory_mb``: 128 MB -> 0.072, 1,769 MB -> 1.0, 10,240 MB -> 5.79."""
    return memory_mb / VCPU_MB


def _process_clock(pid: int) -> int:
    """The clock id of a whole process's CPU time (all threads), as glibc's clock_getcpuclockid builds it."""
    return ((~pid) << 3) | 2  # CPUCLOCK_SCHED for the process ``pid``


def process_cpu_s(pid: int) -> float:
    """CPU seconds ``pid`` has used so far (every thread, nanosecond precision). Raises OSError if it is gone."""
    return time.clock_gettime_ns(_process_clock(pid)) / 1e9


def run_delay_s(pid: int | None = None) -> float:
    """Seconds a process's main thread (or, without ``pid``, the calling thread) has spent ready to run but waiting
    for a CPU held by another program; 0.0 where the kernel does not say."""
    path = "/proc/thread-self/schedstat" if pid is None else f"/proc/{pid}/schedstat"
    try:
        with open(path, "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _detect_mode() -> str:
    wanted = os.environ.get("LAMBDALAB_CPU_SHARE", "").strip().lower()
    if wanted and wanted not in MODES:
        raise ValueError(f"LAMBDALAB_CPU_SHARE={wanted!r} is not a mode: use 'throttle' (stop the worker whenever it "
                         "runs ahead of its share; Linux) or 'model' (compute Duration from measured CPU time).")
    if wanted == "model":
        return "model"
    try:
        process_cpu_s(os.getpid())
        can_throttle = sys.platform.startswith("linux") and os.path.exists(f"/proc/{os.getpid()}/task")
    except (OSError, ValueError, OverflowError):
        can_throttle = False
    if wanted == "throttle" and not can_throttle:
        raise ValueError("LAMBDALAB_CPU_SHARE=throttle needs Linux (per-process CPU clocks and /proc); unset it to "
                         "use the model instead.")
    return "throttle" if can_throttle else "model"


MODE = _detect_mode()
_warned_cores: set = set()


def warn_if_beyond_cores(memory_mb: int) -> None:
    """Say once per memory size when its share is more CPU than this machine has."""
    cores = os.cpu_count() or 1
    if share(memory_mb) > cores and memory_mb not in _warned_cores:
        _warned_cores.add(memory_mb)
        warnings.warn(f"{memory_mb} MB gets {share(memory_mb):.2f} vCPUs on Lambda but this machine has {cores} "
                      f"cores: code with several threads or processes runs slower here than on Lambda. "
                      "Single-threaded code is not affected (it cannot use more than one vCPU anywhere).",
                      stacklevel=3)


def modelled_duration_ms(wall_ms: float, cpu_ms: float, memory_mb: int) -> float:
    """Duration at ``memory_mb`` of a handler that took ``wall_ms`` and used ``cpu_ms`` of CPU at full speed:
    the CPU part is stretched to the share, the waiting part (I/O, sleep) stays as it was."""
    fraction = share(memory_mb)
    if fraction >= 1:
        return wall_ms
    cpu_ms = min(cpu_ms, wall_ms)  # at full speed on one thread, CPU time cannot exceed wall time
    return wall_ms - cpu_ms + cpu_ms / fraction


class Unlimited:
    """No share: the INIT phase (see the module's docstring) and ``debug_invoke``. Elapsed time is wall time."""

    modelled = False

    def __init__(self):
        self._started = time.perf_counter()

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started

    def poll(self) -> None:
        pass

    def release(self) -> None:
        pass

    def duration_ms(self, reply: dict) -> float:
        return reply["duration_ms"]


class CpuShare(Unlimited):
    """One invocation's CPU budget for one worker process (and the processes it started).

    Create it just before the invocation is sent; call ``poll()`` often (the runtime does every 5 ms), ``release()``
    when the invocation is over, and ``duration_ms(reply)`` for the Duration Lambda would report.
    """

    def __init__(self, pid: int, memory_mb: int, mode: str | None = None):
        super().__init__()
        self.pid, self.memory_mb, self.share = pid, memory_mb, share(memory_mb)
        self.mode = mode or MODE
        self.modelled = self.mode == "model"
        self.stopped = False
        self._children: dict[int, float] = {}  # CPU seconds last seen for each live process the worker started
        self._delay0 = run_delay_s(pid) if not self.modelled else 0.0
        self._cpu0 = self._cpu_s() if not self.modelled else 0.0
        warn_if_beyond_cores(memory_mb)

    def elapsed_s(self) -> float:
        """Wall time since the invocation began, less the time other programs kept the worker from a CPU."""
        wall = time.perf_counter() - self._started
        if self.modelled:
            return wall
        return max(0.0, wall - (run_delay_s(self.pid) - self._delay0))

    def used_s(self) -> float:
        """CPU seconds the worker and its processes have used since the invocation began."""
        return self._cpu_s() - self._cpu0

    def poll(self) -> None:
        """Stop the worker while it is ahead of its budget; let it go on once it is back within it."""
        if self.modelled:
            return
        # One clock tick (10 ms) of wall-time slack: /proc counts CPU time in ticks, so a worker at a full vCPU can
        # read a tick ahead; stopping it then would only add the time until the next poll lets it go on (long under
        # load). Scaled by the share, the slack is never more than a tick of Duration, which stays honest: CPU used
        # beyond the budget at the end is added to it (``duration_ms``).
        ahead = self.used_s() > self.share * (self.elapsed_s() + 1 / _TICKS)
        if ahead != self.stopped:
            self._signal(signal.SIGSTOP if ahead else signal.SIGCONT)
            self.stopped = ahead

    def release(self) -> None:
        """The invocation is over (or the environment is being discarded): never leave the worker stopped."""
        if self.stopped:
            self._signal(signal.SIGCONT)
            self.stopped = False

    def duration_ms(self, reply: dict) -> float:
        """Duration as Lambda would report it. Throttled: the handler's own measure, plus any CPU it used in its last
        few milliseconds beyond its budget (it can finish between two polls); modelled: see ``modelled_duration_ms``."""
        if self.modelled:
            return modelled_duration_ms(reply["duration_ms"], reply.get("cpu_ms", 0.0), self.memory_mb)
        debt_ms = max(0.0, self.used_s() / self.share - self.elapsed_s()) * 1000
        return reply["duration_ms"] + debt_ms

    def _cpu_s(self) -> float:
        """The worker's own CPU time, its ended-and-waited-for children's (from /proc/<pid>/stat) and the current
        CPU time of its live descendants."""
        try:
            total = process_cpu_s(self.pid) + _waited_children_s(self.pid)
        except OSError:
            return self._cpu0
        live = {}
        for child in _descendants(self.pid):
            try:
                live[child] = process_cpu_s(child)
            except OSError:
                live[child] = self._children.get(child, 0.0)  # ending just now: what it had used when last seen
        self._children = live
        return total + sum(live.values())

    def _signal(self, signum) -> None:
        try:
            os.killpg(self.pid, signum)  # the worker is its process group's leader (a new session)
        except (ProcessLookupError, PermissionError):
            pass


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _waited_children_s(pid: int) -> float:
    """CPU seconds of the children ``pid`` started and has waited for (cutime + cstime; 10 ms steps)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _descendants(pid: int) -> list[int]:
    """Processes started by ``pid`` and by those, from /proc/<pid>/task/*/children (empty where the kernel does not
    offer that file)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", "rb") as children:
                    kids = [int(k) for k in children.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            queue += kids
    return found
