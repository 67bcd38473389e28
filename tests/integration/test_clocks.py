"""Exemption times on the pool master's clock, and status saying when this host's
clock is off (issue 17 item 4). The simulator's set_clock_offset moves what
host.get_servertime answers for one host; the commands run on the real clock, as a
host whose own clock differs from the master's."""
import json
import tempfile
import time

from csguard import records
from xapisim import Simulator

from integration.daemon_runner import DaemonRunner, wait_for
from integration.test_cli import ok, protect, run_cli, write_default_config


def _pool():
    pool = Simulator(hosts=2, workdir=tempfile.mkdtemp(prefix="xs-", dir="/tmp"))
    pool.default_config = write_default_config(pool.workdir)
    return pool


def test_vm_unblock_times_the_exemption_on_the_masters_clock():
    with _pool() as pool:
        uuid = pool.create_vm("web-01")[1]
        protect(pool, uuid)
        pool.set_clock_offset(0, 600)      # this host is 10 minutes behind the master
        member = {"CSGUARD_XAPI_URL": pool.unix_url(1)}
        before = time.time()
        ok(run_cli(pool, "vm-unblock", "uuid=" + uuid, "reason=patch", "duration=5m",
                   env=member))
        exemption = records.parse_exemption(
            pool.vm_record(uuid)["other_config"][records.KEY_EXEMPTION])
        assert int(before) + 600 <= exemption.at <= time.time() + 600
        assert exemption.until - exemption.at == 300
        row = json.loads(ok(run_cli(pool, "vm-classify", "uuid=" + uuid, "--json",
                                    env=member)))
        assert row["class"] == "exempt"


def test_status_says_when_this_hosts_clock_is_off_by_more_than_a_minute():
    with _pool() as pool:
        state = tempfile.mkdtemp(prefix="cg-", dir="/tmp")
        with DaemonRunner(pool.unix_url(0), state) as daemon:
            daemon.wait_ready()
            wait_for(lambda: (daemon.status_file() or {}).get("connection") == "connected",
                     timeout=30, what="a connected daemon", daemons=[daemon])
            out = ok(run_cli(pool, "status", "--state-dir", state))
            assert "CLOCK" not in out
            pool.set_clock_offset(0, 180)
            out = ok(run_cli(pool, "status", "--state-dir", state))
            assert "CLOCK: this host's clock is about 3m behind the pool master's" in out
            data = json.loads(ok(run_cli(pool, "status", "--state-dir", state, "--json")))
            assert -182 <= data["clock-offset-seconds"] <= -178
            pool.set_clock_offset(0, -45)
            assert "CLOCK" not in ok(run_cli(pool, "status", "--state-dir", state))
