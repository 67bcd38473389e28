"""The pool the benchmark measures: N VMs, 80 % of them aliens.

The aliens are in the states a pool is found in when csguard is installed:
half carry no block at all, a quarter are fully blocked by someone else (Xen
Orchestra writes "true"), a quarter have only `destroy` blocked that way. So
adoption has to find what is really missing instead of writing everything. The
rest are CloudStack's (user VMs and some system VMs). One template, ignored by
csguard and the poller alike, takes the probe writes that measure one write.
"""
ALIEN_SHARE = 0.8
DEFAULT_BLOCKED = ("clean_shutdown", "hard_shutdown", "shutdown", "destroy")
PROBE_TEMPLATE = "bench-probe"

ALIEN_BARE, ALIEN_BLOCKED_BY_OTHERS, ALIEN_DESTROY_BLOCKED, CLOUDSTACK = (
    "alien-bare", "alien-blocked-by-others", "alien-destroy-blocked", "cloudstack")


def alien_count(size):
    return round(size * ALIEN_SHARE)


def specs(size):
    """[(category, create_vm kwargs)] for a pool of `size` VMs (plus the probe template)."""
    aliens = alien_count(size)
    pool = []
    for i in range(aliens):
        spec = {"name_label": f"legacy-{i}",
                "power_state": "Halted" if i % 10 == 9 else "Running"}
        quarter = i % 4
        if quarter == 2:
            spec["blocked_operations"] = {op: "true" for op in DEFAULT_BLOCKED}
            pool.append((ALIEN_BLOCKED_BY_OTHERS, spec))
        elif quarter == 3:
            spec["blocked_operations"] = {"destroy": "true"}
            pool.append((ALIEN_DESTROY_BLOCKED, spec))
        else:
            pool.append((ALIEN_BARE, spec))
    for i in range(size - aliens):
        name = f"r-{i}-VM" if i % 10 == 0 else f"i-2-{i}-VM"
        pool.append((CLOUDSTACK, {"name_label": name}))
    pool.append(("template", {"name_label": PROBE_TEMPLATE, "power_state": "Halted",
                              "is_a_template": True, "vifs": 0}))
    return pool


def seed(sim, size):
    """Create the pool in `sim` (a SimProcess); returns {category: [uuid, ...]}."""
    pool = specs(size)
    created = sim.control.sim.seed_vms([spec for _, spec in pool])
    uuids = {}
    for (category, _), (_, uuid) in zip(pool, created):
        uuids.setdefault(category, []).append(uuid)
    return uuids


def aliens(uuids):
    return [u for category in (ALIEN_BARE, ALIEN_BLOCKED_BY_OTHERS, ALIEN_DESTROY_BLOCKED)
            for u in uuids.get(category, ())]


def unprotected(sim, vm_uuids, operations=DEFAULT_BLOCKED):
    """The uuids among `vm_uuids` with any of `operations` not blocked."""
    missing = []
    for uuid in vm_uuids:
        record = sim.control.sim.vm_record(uuid)
        blocked = record.get("blocked_operations", {}) if record else {}
        if any(op not in blocked for op in operations):
            missing.append(uuid)
    return missing
