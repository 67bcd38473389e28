"""What the daemon needs for plan_affinity: the pool's hosts, read only when a VM
names a host the daemon does not know yet (a host that joined; one that left
stays unknown until the next resync), and the log lines for affinities cleared,
cleared again, restored or not restorable, and for what audit mode would clear."""
import logging

from csguard import plan, plan_affinity, records

log = logging.getLogger("csguard")


class Affinities:
    def __init__(self):
        self.reset()

    def reset(self):
        """Forget the hosts: a fresh listing follows."""
        self._hosts = None        # {ref: uuid}, read on first need
        self._unknown = set()     # refs and uuids not found in the last read
        self._warned = set()      # VM refs whose affinity was set again, logged once

    def hosts(self, xapi, vm):
        """{ref: uuid} of the pool's hosts, fresh enough for planning vm."""
        ref, uuid = plan_affinity.wanted_hosts(vm)
        if ref is None and uuid is None:
            return self._hosts or {}
        known = self._hosts or {}
        new = [key for key in (ref, uuid) if key is not None and key not in self._unknown
               and key not in known and key not in known.values()]
        if self._hosts is None or new:
            self._hosts = xapi.hosts()
            self._unknown.update(key for key in new if key not in self._hosts
                                 and key not in self._hosts.values())
        return self._hosts

    def cleared(self, vm, hosts, config):
        """True unless a protected halted VM still has a host as its affinity."""
        return not config.clear_halted_affinity or plan_affinity.due(vm, hosts) is None

    def report(self, ref, vm, made, batch):
        """Log the affinity writes made on one VM."""
        name, uuid = records.show(vm.get("name_label")), vm.get("uuid")
        recorded = (vm.get("other_config") or {}).get(records.KEY_AFFINITY)
        for write in made:
            if write.call == plan.CLEAR_AFFINITY and recorded is not None:
                level = logging.INFO if ref in self._warned else logging.WARNING
                self._warned.add(ref)
                log.log(level, "VM %s (uuid %s): its affinity was set to host %s again "
                        "(by CloudStack's StopCommand or by hand) while it is protected and "
                        "halted; cleared it again and recorded the host in %s (was %s), or "
                        "that host's connect to CloudStack would fail (to keep affinities, "
                        "set protection.clear_halted_affinity: false)", name, uuid,
                        write.value, records.KEY_AFFINITY, records.show(recorded))
            elif write.call == plan.CLEAR_AFFINITY:
                log.log(logging.DEBUG if batch is not None else logging.INFO,
                        "VM %s (uuid %s): cleared its affinity (host %s, recorded in %s) so "
                        "that CloudStack's connect of that host does not try to destroy it",
                        name, uuid, write.value, records.KEY_AFFINITY)
            elif write.call == plan.RESTORE_AFFINITY and write.key is not None:
                log.info("VM %s (uuid %s) is no longer protected: restored its affinity "
                         "to host %s", name, uuid, write.value)
            elif write.call == plan.RESTORE_AFFINITY:
                log.warning("VM %s (uuid %s) is no longer protected; its affinity was not "
                            "restored (%s %s: %s) and the record is removed", name, uuid,
                            records.KEY_AFFINITY, records.show(write.value),
                            _why_not(vm, write.value))

    def audit(self, ref, vm, hosts):
        """Audit mode: say once per VM and host which affinity would be cleared."""
        host = plan_affinity.due(vm, hosts)
        if host is None or (ref, host) in self._warned:
            return
        self._warned.add((ref, host))
        log.info("audit: VM %s (uuid %s) is halted with host %s as its affinity: "
                 "protection would record and clear it", records.show(vm.get("name_label")),
                 vm.get("uuid"), hosts[host])


def _why_not(vm, recorded):
    if vm.get("affinity") != plan_affinity.NULL_REF:
        return "the affinity was set again since csguard cleared it"
    if records.parse_affinity(recorded) is None:
        return "it is not a host uuid"
    return "that host is no longer in the pool"
