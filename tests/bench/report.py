"""The goals, and the results as a table for people."""

GOAL_LATENCY_TO_FLOOR = 2.0
GOAL_CALLS_TO_MINIMUM = 1.1
GOAL_TIME_TO_BARE = 1.5
GOAL_RSS_MB = 40.0
GOAL_BUSY_P99_S = 1.0
GOAL_SLOW_API_P99_S = 1.0
RSS_GOAL_PYTHON = "3.6"


def goals(results):
    """[{"goal", "value", "met"}]: latency and memory at the largest size, adoption
    and steady-state writes at every size (the worst one counts)."""
    sizes = results["sizes"]
    largest = sizes[str(max(int(s) for s in sizes))]
    out = []
    p99 = largest["latency"]["p99_to_floor"]
    out.append({"goal": f"p99 protection latency <= {GOAL_LATENCY_TO_FLOOR:g}x floor at "
                        f"{largest['vms']} VMs",
                "value": p99, "met": p99 is not None and p99 <= GOAL_LATENCY_TO_FLOOR})
    calls = max(s["adoption"]["calls_to_minimum"] for s in sizes.values())
    out.append({"goal": f"adoption calls <= {GOAL_CALLS_TO_MINIMUM:g}x minimum",
                "value": calls, "met": calls <= GOAL_CALLS_TO_MINIMUM})
    seconds = max(s["adoption"]["time_to_bare"] for s in sizes.values())
    out.append({"goal": f"adoption time <= {GOAL_TIME_TO_BARE:g}x bare client",
                "value": seconds, "met": seconds <= GOAL_TIME_TO_BARE})
    writes = max(s["steady"]["writes_per_1000"] for s in sizes.values())
    out.append({"goal": "zero writes in steady state", "value": writes, "met": writes == 0})
    busy = results["busy"]["csguard"]
    p99 = busy["latency"]["all_blocks"]["p99"]
    out.append({"goal": f"p99 protection latency <= {GOAL_BUSY_P99_S:g} s for VMs created "
                        f"during a {results['busy']['vms']}-VM adoption on a busy master",
                "value": p99, "met": p99 is not None and p99 <= GOAL_BUSY_P99_S})
    extra = busy["block_writes"] - busy["minimum_block_writes"]
    out.append({"goal": "no VM written twice on a busy master", "value": extra,
                "met": extra == 0})
    slow = results["slow_api"]
    p99 = slow["slow"]["all_blocks"]["p99"]
    out.append({"goal": f"p99 protection latency <= {GOAL_SLOW_API_P99_S:g} s while a reading "
                        "of CloudStack's inventory waits on a slow API",
                "value": p99, "met": p99 is not None and p99 <= GOAL_SLOW_API_P99_S})
    unprotected = busy["latency"]["unprotected"] + slow["healthy"]["unprotected"] + \
        slow["slow"]["unprotected"] + sum(
        s["adoption"]["csguard"]["unprotected_aliens"] + s["latency"]["csguard"]["unprotected"]
        for s in sizes.values())
    out.append({"goal": "every alien protected", "value": unprotected,
                "met": unprotected == 0})
    memory = results["memory"]
    rss = [m["daemon"]["rss_mb"] for version, m in memory["by_python"].items()
           if version.startswith(RSS_GOAL_PYTHON + ".")]
    out.append({"goal": f"steady-state RSS < {GOAL_RSS_MB:g} MB at {memory['vms']} VMs on "
                        f"Python {RSS_GOAL_PYTHON}",
                "value": rss[0] if rss else None, "met": bool(rss) and rss[0] < GOAL_RSS_MB})
    return out


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.0f}" if seconds >= 0.1 \
        else f"{seconds * 1000:.1f}"


def _s(seconds):
    return "-" if seconds is None else f"{seconds:.1f}" if seconds >= 10 else f"{seconds:.2f}"


def _x(ratio):
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x" if ratio >= 0.01 or ratio == 0 else f"{ratio:.1e}x"


def _mb(value):
    return f"{value:.3f}" if value < 1 else f"{value:,.1f}"


def _n(value):
    return "-" if value is None else f"{value:,.0f}"


def _spread(summary, unit):
    return " / ".join(unit(summary[k]) for k in ("p50", "p99", "max"))


def table(results):
    """The results as a fixed-width text table, with machine and interpreters."""
    machine = results["machine"]
    pythons = results["pythons"]
    sizes = [results["sizes"][k] for k in sorted(results["sizes"], key=int)]
    settings = results["settings"]
    rows = []

    def row(label, cell):
        rows.append((label, [cell(s) for s in sizes]))

    def section(title):
        rows.append((title, None))

    section("Protection latency, creation -> all blocks (ms: p50 / p99 / max)")
    row("  floor = 50 ms batching + 1 write", lambda s: _ms(s["floor_s"]))
    row("  csguard", lambda s: _spread(s["latency"]["csguard"]["all_blocks"], _ms))
    row("  csguard p50, p99 / floor", lambda s: "{} / {}".format(
        _x(s["latency"]["p50_to_floor"]), _x(s["latency"]["p99_to_floor"])))
    row("  csguard first block", lambda s: _spread(s["latency"]["csguard"]["first_block"], _ms))
    row("  cron poller, 60 s (s, scaled)", lambda s: _spread(
        s["latency"]["poller"]["all_blocks"], _s))
    row("  csguard / poller p50, p99", lambda s: "{} / {}".format(
        _x(s["csguard_to_poller"]["latency_p50"]), _x(s["csguard_to_poller"]["latency_p99"])))
    section("Adoption (start -> READY=1, every alien protected)")
    row("  minimum calls (1 listing + missing writes)", lambda s: _n(s["adoption"]["minimum_calls"]))
    row("  csguard calls (to minimum)", lambda s: "{} ({})".format(
        _n(s["adoption"]["csguard"]["calls"]), _x(s["adoption"]["calls_to_minimum"])))
    row("  bare client time (s)", lambda s: _s(s["adoption"]["bare"]["seconds"]))
    row("  csguard time (s) (to bare)", lambda s: "{} ({})".format(
        _s(s["adoption"]["csguard"]["seconds"]), _x(s["adoption"]["time_to_bare"])))
    section(f"Steady state, per 1,000 unrelated changes ({settings['modification_rate']:g}/s)")
    row("  XAPI calls / writes", lambda s: "{} / {}".format(
        _n(s["steady"]["calls_per_1000"]), _n(s["steady"]["writes_per_1000"])))
    row("  daemon CPU s", lambda s: _s(s["steady"]["cpu_s_per_1000"]))
    section("XAPI load per hour, nothing changing (calls / MB the master sends)")
    row("  csguard", lambda s: "{} / {}".format(
        _n(s["load_per_hour"]["csguard_idle"]["calls_per_hour"]),
        _mb(s["load_per_hour"]["csguard_idle"]["master_mb_sent_per_hour"])))
    row("  cron poller, 60 s", lambda s: "{} / {}".format(
        _n(s["load_per_hour"]["poller_idle"]["calls_per_hour"]),
        _mb(s["load_per_hour"]["poller_idle"]["master_mb_sent_per_hour"])))
    row("  csguard / poller", lambda s: "{} / {}".format(
        _x(s["csguard_to_poller"]["calls_per_hour"]),
        _x(s["csguard_to_poller"]["master_bytes_per_hour"])))
    section(f"Memory, Python {pythons['daemon']} (MB: steady RSS / peak)")
    row("  csguard daemon", lambda s: "{:.1f} / {:.1f}".format(
        s["memory"]["daemon"]["rss_mb"], s["memory"]["daemon"]["peak_mb"]))
    row("  bare VM.get_all_records client", lambda s: "{:.1f} / {:.1f}".format(
        s["memory"]["bare_listing"]["rss_mb"], s["memory"]["bare_listing"]["peak_mb"]))

    width = max(len(label) for label, cells in rows if cells is not None) + 2
    column = max(14, max(len(c) for _, cells in rows if cells for c in cells) + 2)
    lines = [
        "csguard benchmark: {} cores, {}, {} GB RAM (load average {:.1f} at the start); "
        "daemon on Python {}; simulator and bench on Python {}".format(
            machine["cores"], machine["cpu"], machine["memory_gb"], machine["load_average"],
            pythons["daemon"], pythons["simulator_and_bench"]),
        "",
        " " * width + "".join(f"{s['vms']:,} VMs".rjust(column) for s in sizes),
    ]
    for label, cells in rows:
        if cells is None:
            lines.append(label)
        else:
            lines.append(label.ljust(width) + "".join(c.rjust(column) for c in cells))
    memory = results["memory"]
    lines.append("")
    lines.append(f"Memory at {memory['vms']:,} VMs by Python (MB: daemon steady RSS / peak;"
                 " bare listing client peak)")
    for version, m in memory["by_python"].items():
        lines.append("  Python {:<10} {:.1f} / {:.1f};  {:.1f}".format(
            version, m["daemon"]["rss_mb"], m["daemon"]["peak_mb"],
            m["bare_listing"]["peak_mb"]))
    lines.extend(_busy(results["busy"]))
    lines.extend(_slow_api(results["slow_api"]))
    lines.append("")
    lines.append(f"The poller ran every {settings['poller_interval']:g} s; its waits are "
                 "scaled to 60 s, its per-hour load counts 60 runs.")
    lines.append("Goals:")
    for goal in results["goals"]:
        value = goal["value"]
        shown = "-" if value is None else f"{value:.2f}" if isinstance(value, float) else value
        lines.append("  [{}] {} (measured: {})".format(
            "met" if goal["met"] else "MISSED", goal["goal"], shown))
    return "\n".join(lines)


def _slow_api(slow):
    """The slow-API lines: new aliens' latency with CloudStack answering at once (the
    baseline) and while a reading waits on it."""
    head = (f"CloudStack's API taking {slow['seconds_per_call']:g} s per call, "
            f"{slow['vms']:,} VMs: {slow['new_aliens']} new aliens ({slow['rate']:g}/s), "
            "creation -> all blocks (ms: p50 / p99 / max)")
    return [
        "",
        head,
        f"  API answering at once: {_spread(slow['healthy']['all_blocks'], _ms)}",
        "  API slow, a reading under way: {}{}".format(
            _spread(slow["slow"]["all_blocks"], _ms),
            "" if slow["reading_unfinished"] else " (the reading ended before the last one)"),
    ]


def _busy(busy):
    """The busy-master lines: adoption next to the bare client, and the latency of
    the VMs created during it."""
    daemon, bare = busy["csguard"], busy["bare"]
    return [
        "",
        f"Busy master: every call takes {busy['ms_per_call']:g} ms, {busy['vms']:,} VMs",
        "  adoption: csguard {} s, bare client {} s ({}); {:,} calls vs {:,}".format(
            _s(daemon["seconds"]), _s(bare["seconds"]),
            _x(daemon["seconds"] / bare["seconds"] if bare["seconds"] else None),
            daemon["calls"], bare["calls"]),
        "  {} VMs created during csguard's adoption ({:g}/s), creation -> all blocks "
        "(ms: p50 / p99 / max): {}".format(
            daemon["new_aliens"], busy["rate"], _spread(daemon["latency"]["all_blocks"], _ms)),
        "  block writes {:,} for a minimum of {:,}".format(
            daemon["block_writes"], daemon["minimum_block_writes"]),
    ]
