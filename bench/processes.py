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


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, process group, CPU seconds) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    pgrp = int(fields[2])
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return comm, pgrp, cpu


def cpu_snapshot(groups: dict[str, int | None]) -> dict[str, float]:
    """CPU seconds used so far by each named process group, PostgreSQL, Redis, this process,
    and the whole machine (busy and iowait), for a later `cpu_usage`."""
    by_group = {pgid: name for name, pgid in groups.items() if pgid}
    totals = dict.fromkeys([*groups, "postgresql", "redis", "bench"], 0.0)
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        stat = _proc_stat(pid)
        if stat is None:
            continue
        comm, pgrp, cpu = stat
        if pgrp in by_group:
            totals[by_group[pgrp]] += cpu
        elif comm == "postgres" or comm.startswith("postgres:"):
            totals["postgresql"] += cpu
        elif comm.startswith("redis-server"):
            totals["redis"] += cpu
        elif int(pid) == me:
            totals["bench"] += cpu
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal
    totals["machine_busy"] = (sum(fields[:3]) + sum(fields[5:8])) / TICKS
    totals["machine_iowait"] = fields[4] / TICKS
    totals["wall"] = time.monotonic()
    return totals


def cpu_usage(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Cores used on average by each component between two snapshots (1.0 = one full core)."""
    wall = after["wall"] - before["wall"]
    if wall <= 0:
        return {}
    usage = {
        name: round((after[name] - before.get(name, 0.0)) / wall, 2)
        for name in after
        if name != "wall"
    }
    usage["other"] = round(
        usage["machine_busy"] - sum(v for k, v in usage.items() if not k.startswith("machine_")),
        2,
    )
    usage["cores"] = os.cpu_count() or 1
    return usage
