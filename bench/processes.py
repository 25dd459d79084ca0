"""The processes a benchmark run starts, and where the machine's CPU time goes.

Every process is started in its own session (process group), so stopping it reaches its
children too (gunicorn and Celery workers), and nothing outlives the run.
"""

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Processes:
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, args: list[str], *, env: dict[str, str], cwd: Path
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running[name] = process
        return process

    def stop(self, name: str, timeout: float = 15) -> int | None:
        """SIGTERM the process group, then SIGKILL it if it has not gone within timeout."""
        process = self.running.pop(name, None)
        if process is None:
            return None
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        # Children that ignored the leader's exit (a Celery pool process, say) go too.
        _signal_group(process.pid, signal.SIGKILL)
        return process.returncode

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)

    def pid(self, name: str) -> int | None:
        process = self.running.get(name)
        return process.pid if process else None

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _proc_stat(pid: str) -> tuple[str, int, int, float] | None:
    """(command name, process group, start time, CPU seconds) of a process; None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    pgrp, started = int(fields[2]), int(fields[19])
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return comm, pgrp, started, cpu


# PostgreSQL's own processes, shared by every database of the cluster; any other
# "postgres: user database host activity" title is a backend serving one database.
POSTGRES_SHARED = (
    "checkpointer", "background writer", "walwriter", "autovacuum launcher",
    "logical replication launcher", "archiver", "stats", "walsender", "parallel worker",
)  # fmt: skip


def postgres_database(pid: str) -> str | None:
    """The database a PostgreSQL process works for, or None for the cluster's own ones."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    if not title.startswith("postgres: "):
        return None  # the postmaster
    title = title.removeprefix("postgres: ").strip()
    first, _, rest = title.partition(" ")
    if first.endswith(":"):  # cluster_name, as Debian sets it: "postgres: 15/main: ..."
        title = rest.strip()
    if title.startswith("autovacuum worker"):
        words = title.split()
        return words[2] if len(words) > 2 else None
    if title.startswith(POSTGRES_SHARED):
        return None
    words = title.split()
    return words[1] if len(words) > 1 else None


@dataclass
class CpuSnapshot:
    wall: float
    # (pid, start time) -> (component, command, CPU seconds); the start time tells a reused
    # pid from the process that had it before.
    processes: dict[tuple[int, int], tuple[str, str, float]]
    components: list[str]
    machine_busy: float  # CPU seconds the kernel counts as busy, all cores together
    machine_iowait: float


OTHER = "other_processes"


def cpu_snapshot(groups: dict[str, int | None], database: str | None = None) -> CpuSnapshot:
    """CPU seconds used so far by every process, each assigned to a component (a named
    process group, PostgreSQL, Redis, this process, or other), and by the whole machine.

    With `database`, PostgreSQL is the cluster's own processes and the backends of that
    database; backends of other databases (other work on the machine) count as other. A
    Redis server started as one of `groups` is "redis"; any other Redis server is other."""
    by_group = {pgid: name for name, pgid in groups.items() if pgid}
    own_redis = "redis" in by_group.values()
    processes: dict[tuple[int, int], tuple[str, str, float]] = {}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(entry)
        if stat is None:
            continue
        comm, pgrp, started, cpu = stat
        pid = int(entry)
        if pgrp in by_group:
            component = by_group[pgrp]
        elif comm == "postgres" or comm.startswith("postgres:"):
            served = postgres_database(entry) if database else None
            component = "postgresql" if served in (None, database) else OTHER
        elif comm.startswith("redis-server"):
            component = OTHER if own_redis else "redis"
        elif pid == me:
            component = "bench"
        else:
            component = OTHER
        processes[(pid, started)] = (component, comm, cpu)
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal
    return CpuSnapshot(
        wall=time.monotonic(),
        processes=processes,
        components=list(dict.fromkeys([*groups, "postgresql", "redis", "bench"])),
        machine_busy=(sum(fields[:3]) + sum(fields[5:8])) / TICKS,
        machine_iowait=fields[4] / TICKS,
    )


def cpu_seconds(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds each component used between two snapshots (processes that started in
    between count from zero; those that ended in between are lost)."""
    used: dict[str, float] = dict.fromkeys(after.components, 0.0)
    for key, (component, _comm, cpu) in after.processes.items():
        earlier = before.processes.get(key)
        used[component] = used.get(component, 0.0) + cpu - (earlier[2] if earlier else 0.0)
    return used


def cpu_usage(
    before: CpuSnapshot, after: CpuSnapshot, extra: dict[str, float] | None = None
) -> dict[str, Any]:
    """Cores used on average between two snapshots (1.0 = one full core): by each component,
    by processes outside the benchmark (`other_processes`, the busiest named), by `extra`
    components measured elsewhere (CPU seconds), and the rest (`kernel_and_exited`: network
    softirq, mostly, and processes that ended in between)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return {}
    used: dict[str, float] = dict.fromkeys(after.components, 0.0)
    foreign: dict[str, float] = {}
    for key, (component, comm, cpu) in after.processes.items():
        earlier = before.processes.get(key)
        delta = cpu - (earlier[2] if earlier else 0.0)
        if component == OTHER:
            comm = comm.split("/")[0]  # kernel threads rename themselves as they work
            foreign[comm] = foreign.get(comm, 0.0) + delta
        else:
            used[component] = used.get(component, 0.0) + delta
    for name, seconds in (extra or {}).items():
        used[name] = used.get(name, 0.0) + seconds
    usage: dict[str, Any] = {name: round(v / wall, 2) for name, v in used.items()}
    usage[OTHER] = round(sum(foreign.values()) / wall, 2)
    usage["other_processes_busiest"] = {
        comm: round(v / wall, 2)
        for comm, v in sorted(foreign.items(), key=lambda item: -item[1])[:3]
        if v / wall >= 0.01
    }
    busy = (after.machine_busy - before.machine_busy) / wall
    accounted = (sum(used.values()) + sum(foreign.values())) / wall
    usage["kernel_and_exited"] = round(max(0.0, busy - accounted), 2)
    usage["machine_busy"] = round(busy, 2)
    usage["machine_iowait"] = round((after.machine_iowait - before.machine_iowait) / wall, 2)
    usage["cores"] = os.cpu_count() or 1
    return usage
