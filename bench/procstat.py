"""What a process did, read from outside through /proc: CPU time, bytes read and written, peak memory.

The worker gets no benchmark-only code path, so every figure of a process comes from the kernel's accounting:
- CPU: `utime + stime` of /proc/<pid>/stat (all threads), in clock ticks;
- bytes: `rchar` / `wchar` of /proc/<pid>/io. These count what passes through read()/write() on any file
  descriptor. Python's plain sockets use recv()/send(), which the kernel does not count there, but every
  connection of the local platform is HTTPS and OpenSSL's socket BIO uses read()/write(), so the counters see
  all network traffic (as TLS records, a few percent above the payload) plus file reads and writes;
- memory: `VmHWM` (peak resident set) of /proc/<pid>/status, reset by writing 5 to /proc/<pid>/clear_refs so
  that each measured phase gets its own peak.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ProcSample", "group_cpu_s", "reset_peak_rss", "rss_mb", "sample"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    """Cumulative counters of one process at one moment."""

    cpu_s: float
    rchar: int
    wchar: int

    def __sub__(self, earlier: ProcSample) -> ProcSample:
        return ProcSample(self.cpu_s - earlier.cpu_s, self.rchar - earlier.rchar, self.wchar - earlier.wchar)


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 2, which may hold spaces): index 0 is field 3."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)


def sample(pid: int) -> ProcSample:
    """CPU seconds and I/O bytes of `pid` so far."""
    cpu = _cpu_ticks(_stat(pid)) / _TICKS
    io: dict[str, int] = {}
    with open(f"/proc/{pid}/io") as counters:
        for line in counters:
            key, _, value = line.partition(":")
            io[key] = int(value)
    return ProcSample(cpu, io["rchar"], io["wchar"])


def group_cpu_s(pgid: int) -> float:
    """CPU seconds so far of the live processes of process group `pgid` (each platform process leads one)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat(entry)
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == pgid:  # pgrp (field 5 of the whole line)
            total += _cpu_ticks(fields)
    return total / _TICKS


def reset_peak_rss(pid: int) -> None:
    """Reset the peak RSS of `pid` to its current RSS (kernel >= 4.0)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")


def rss_mb(pid: int, *, peak: bool = True) -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of `pid`, in MiB."""
    return _status_kb(pid, "VmHWM" if peak else "VmRSS") / 1024
