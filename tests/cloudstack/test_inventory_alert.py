"""The staleness alert end to end: when CloudStack's API has not answered for
cloudstack.api.stale_alert_after, the leader raises one CSGUARD_INVENTORY_STALE
message on the pool (XAPI's message.create), once per outage; a standby none."""
import os

import pytest
from cloudstacksim import CloudStackSim
from csguard import config as configuration
from csguard.daemon.ownership import Ownership
from csguard.messages import MSG_INVENTORY_STALE, Messenger
from csguard.xapi import Xapi

KEY, SECRET = "AK-csguard", "SK-never-shown-3f9a"


class Clock:
    def __init__(self):
        self.now = 1795579805.0

    def __call__(self):
        return self.now


@pytest.fixture
def ownership(sim, tmp_path):
    """(Ownership with a settable clock, the CloudStack simulator, an Xapi client)."""
    keys = tmp_path / "cloudstack.yaml"
    keys.write_text(f"api_key: {KEY}\nsecret_key: {SECRET}\n")
    os.chmod(str(keys), 0o600)
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as cloud:
        config = configuration.Config(cloudstack_api_url=cloud.url,
                                      cloudstack_api_credentials_file=str(keys),
                                      state_dir=str(tmp_path / "state"))
        owner = Ownership(config, Messenger())
        clock = Clock()
        owner.source._clock = clock
        cloud.mode = "error"
        owner.start()
        with Xapi(sim.unix_url(0)) as xapi:
            yield owner, clock, xapi


def stale_alerts(xapi):
    return [m for m in xapi.call("message.get_all_records").values()
            if m["name"] == MSG_INVENTORY_STALE]


def pool_uuid(xapi):
    return xapi.call("pool.get_uuid", xapi.call("pool.get_all")[0])


def tick_until_read(owner, xapi, pool, leader):
    """Tick until the reading each tick starts has finished (it runs on a thread)."""
    for _ in range(400):
        owner.tick(xapi, pool, leader)
        if owner.source._reading is None:
            return
        owner.source._reading.wait(0.05)
    raise AssertionError("the reading never finished")


def test_a_standby_never_alerts(ownership):
    owner, clock, xapi = ownership
    clock.now += owner.config.cloudstack_api_stale_alert + 1
    tick_until_read(owner, xapi, pool_uuid(xapi), leader=False)
    assert stale_alerts(xapi) == []


def test_the_leader_alerts_once_per_outage(ownership):
    owner, clock, xapi = ownership
    clock.now += owner.config.cloudstack_api_stale_alert - 1
    tick_until_read(owner, xapi, pool_uuid(xapi), leader=True)
    assert stale_alerts(xapi) == []
    clock.now += 2
    tick_until_read(owner, xapi, pool_uuid(xapi), leader=True)
    alerts = stale_alerts(xapi)
    assert len(alerts) == 1
    assert alerts[0]["obj_uuid"] == pool_uuid(xapi) and alerts[0]["cls"] == "Pool"
    assert "every VM with a CloudStack name is protected" in alerts[0]["body"]
    assert SECRET not in alerts[0]["body"]
    clock.now += 3600
    tick_until_read(owner, xapi, pool_uuid(xapi), leader=True)
    assert len(stale_alerts(xapi)) == 1
