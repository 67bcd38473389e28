"""What /proc says about a process (CPU seconds, resident memory) and the machine."""
import os
import platform

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name (field 2) may hold spaces; fields after ")" are fixed.
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_mb(pid="self"):
    """{"rss_mb": VmRSS, "peak_mb": VmHWM} of the process, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024.0
    return {"rss_mb": values["VmRSS"], "peak_mb": values["VmHWM"]}


def machine():
    """Cores, CPU model and memory of this machine, for the results header."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    memory_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory_gb = round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "memory_gb": memory_gb,
            "kernel": platform.release(), "load_average": os.getloadavg()[0]}
