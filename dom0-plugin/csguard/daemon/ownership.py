"""CloudStack's inventory as the loop sees it: read (or the kept one loaded)
before the first reconcile, refreshed beside the loop when due, a refresh for a
CloudStack-named VM csguard has not seen, staleness in the status file and, after
cloudstack.api.stale_alert_after, one XAPI alert per outage. Without
cloudstack.api every method is a no-op and `current` is None."""
import logging

from csguard import inventory, records

log = logging.getLogger("csguard")


class Ownership:
    def __init__(self, config, messenger):
        """ConfigError when the API keys file is unusable."""
        self.config = config
        self.messenger = messenger
        self.source = inventory.source_for(config, config.state_dir)
        self._started = False

    @property
    def current(self):
        return self.source.current if self.source is not None else None

    def budget(self):
        """Seconds the start waits for the first reading (for the watchdog); later
        readings run beside the loop."""
        return inventory.START_WAIT if self.source else 0.0

    def new_vm_budget(self):
        return inventory.NEW_VM_WAIT if self.source else 0.0

    def start(self):
        """Once, before the first reconcile."""
        if self.source is not None and not self._started:
            self._started = True
            self.source.start()
            self.source.changed = False

    def due_in(self):
        return self.source.due_in() if self.source is not None and self._started else None

    def tick(self, xapi, pool_uuid, leader):
        """Take a finished reading, start one when due (never waits) and alert on
        staleness; True when the names changed (so every VM needs reclassifying)."""
        if self.source is None or not self._started:
            return False
        self.source.refresh_if_due()
        if self.source.stale_alert_due() and leader:
            self.messenger.inventory_stale(xapi, pool_uuid, self._stale_text())
        changed, self.source.changed = self.source.changed, False
        return changed

    def refresh_for_new_vm(self, name):
        return self.source is not None and self._started and \
            self.source.refresh_for_new_vm(name)

    def status_fields(self):
        """Flat fields for status.json (none without cloudstack.api)."""
        if self.source is None:
            return {}
        status = self.source.status()
        text = status["inventory"]
        if status["read_at"]:
            text += f", {status['vms']} VMs read at {status['read_at']}"
        return {"cloudstack_api": status["url"], "cloudstack_version": status["version"],
                "cloudstack_inventory": text, "cloudstack_error": status["error"],
                "cloudstack_failing_since": status["failing_since"]}

    def _stale_text(self):
        source = self.source
        kept = ("no inventory has been read yet: every VM with a CloudStack name is "
                "protected" if source.current is None else
                f"csguard keeps the inventory read at "
                f"{records.format_time(source.current.read_at)}: nothing is unprotected, "
                "but VMs CloudStack created since then stay protected")
        return (f"csguard could not read CloudStack's inventory from {source.api.url} since "
                f"{records.format_time(source.failing_since)}: {source.error}. {kept}.")
