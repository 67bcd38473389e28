"""The product's CloudStack client and inventory against the API simulator: every
call and page, each failure kept apart from the inventory, the kept copy across
restarts, staleness, TLS, and no secret in any error."""
import json
import logging
import os
import subprocess
import time

import pytest
from cloudstacksim import CloudStackSim
from csguard import cloudstackapi, inventory
from csguard.cloudstackapi import CloudStackApi, CloudStackError

KEY, SECRET = "AK-csguard", "SK-never-shown-3f9a"


@pytest.fixture
def cloud():
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as sim:
        sim.add("user", "i-2-10-VM")
        sim.add("user", "i-3-11-VM", account="alice")
        sim.add("user", "i-4-12-VM", account="project-x", project="p1")
        sim.add("system", "s-1-VM")
        sim.add("system", "v-2-VM")
        sim.add("router", "r-5-VM", account="alice")
        sim.add("router", "r-6-VM", account="project-x", project="p1")
        sim.add("internallb", "b-7-VM")
        sim.add("internallb", "b-8-VM", account="project-x", project="p1")
        yield sim


def api_for(cloud, secret=SECRET, **options):
    return CloudStackApi(cloud.url, KEY, secret, timeout=5, **options)


class Clock:
    def __init__(self, now=1795579805.0):
        self.now = now

    def __call__(self):
        return self.now


def source(cloud, tmp_path, clock=None, **options):
    return inventory.InventorySource(api_for(cloud, **options), str(tmp_path), 300.0, 3600.0,
                                     clock=clock or Clock())


def test_the_inventory_holds_every_kind_and_project(cloud):
    found = inventory.fetch(api_for(cloud), 0.0)
    assert found.version == "4.20.1.0"
    assert found.names == {
        "i-2-10-VM": "user VM", "i-3-11-VM": "user VM", "i-4-12-VM": "project user VM",
        "s-1-VM": "system VM", "v-2-VM": "system VM", "r-5-VM": "virtual router",
        "r-6-VM": "project virtual router", "b-7-VM": "internal load balancer VM",
        "b-8-VM": "project internal load balancer VM"}
    commands = {command for command, _ in cloud.requests}
    assert commands == set(inventory.COMMANDS)


def test_before_4_2_internal_load_balancers_are_not_asked_for(cloud):
    cloud.version = "4.1.1"
    found = inventory.fetch(api_for(cloud), 0.0)
    assert "i-2-10-VM" in found.names and "b-7-VM" not in found.names
    assert "listInternalLoadBalancerVMs" not in {command for command, _ in cloud.requests}


def test_every_page_is_read(cloud):
    for n in range(23):
        cloud.add("user", f"i-9-{100 + n}-VM")
    api = api_for(cloud)
    api.page_size = 5
    names = inventory.fetch(api, 0.0).names
    assert sum(1 for name in names if name.startswith("i-9-")) == 23
    pages = [p for c, p in cloud.requests if c == "listVirtualMachines"
             and p.get("projectid") is None]
    assert [p["page"] for p in pages] == ["1", "2", "3", "4", "5"]


def test_a_smaller_server_page_limit_is_followed(cloud):
    cloud.max_page_size = 4
    for n in range(9):
        cloud.add("user", f"i-9-{100 + n}-VM")
    names = inventory.fetch(api_for(cloud), 0.0).names
    assert sum(1 for name in names if name.startswith("i-9-")) == 9


def test_requests_carry_signature_version_3_and_no_secret(cloud):
    api_for(cloud).call("listCapabilities")
    _, params = cloud.requests[-1]
    assert params["signatureversion"] == "3" and params["expires"].endswith("Z+0000")
    assert SECRET not in json.dumps(cloud.requests)


def test_bad_credentials_give_one_clear_refusal(cloud):
    with pytest.raises(CloudStackError) as caught:
        api_for(cloud, secret="SK-wrong-secret").call("listCapabilities")
    error = caught.value
    assert error.refused and error.code == 401
    assert "unable to verify user credentials" in str(error)
    assert "cloudstack.api.credentials_file" in str(error)
    assert "SK-wrong-secret" not in str(error) and KEY not in str(error)


def test_a_role_without_a_list_api_is_named(cloud):
    cloud.allowed = {"listCapabilities", "listVirtualMachines"}
    with pytest.raises(CloudStackError) as caught:
        inventory.fetch(api_for(cloud), 0.0)
    assert caught.value.refused and "listSystemVms" in str(caught.value)


@pytest.mark.parametrize("mode, text", [
    ("error", "error 530"),
    ("garbage", "not CloudStack's JSON"),
])
def test_errors_and_garbage_are_errors(cloud, mode, text):
    cloud.mode = mode
    with pytest.raises(CloudStackError) as caught:
        inventory.fetch(api_for(cloud), 0.0)
    assert text in str(caught.value) and not caught.value.refused


def test_a_slow_api_times_out(cloud):
    cloud.mode, cloud.delay = "slow", 3.0
    api = api_for(cloud)
    api.timeout = 0.5
    with pytest.raises(CloudStackError) as caught:
        api.list_all("listVirtualMachines", "virtualmachine", listall="true")
    assert "timed out" in str(caught.value)


def test_an_api_that_is_down_is_an_error():
    sim = CloudStackSim()
    sim.start()
    url = sim.url
    sim.stop()
    with pytest.raises(CloudStackError) as caught:
        CloudStackApi(url, KEY, SECRET, timeout=2).call("listCapabilities")
    assert "failed" in str(caught.value)


# ---- the source: refreshes, the kept copy, staleness ----

def test_a_failed_refresh_keeps_the_inventory_and_says_so_once(cloud, tmp_path, caplog):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    assert src.state() == "fresh" and "i-2-10-VM" in src.current.names
    cloud.mode = "garbage"
    with caplog.at_level(logging.INFO, logger="csguard"):
        for _ in range(3):
            clock.now += 400
            assert settled(src) is False
    assert src.state() == "stale" and "i-2-10-VM" in src.current.names
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "keeping the one read at" in errors[0].getMessage()
    cloud.mode = "up"
    clock.now += 60
    settled(src)
    assert src.state() == "fresh" and src.error is None


def test_the_inventory_is_kept_across_restarts(cloud, tmp_path):
    first = source(cloud, tmp_path)
    first.start()
    cloud.mode = "error"
    second = source(cloud, tmp_path)
    second.start()
    assert second.state() == "stale"
    assert second.current.names == first.current.names
    assert SECRET not in (tmp_path / inventory.INVENTORY_FILE).read_text()


def test_a_kept_inventory_of_another_cloud_is_ignored(cloud, tmp_path):
    source(cloud, tmp_path).start()
    with CloudStackSim(api_key=KEY, secret_key=SECRET) as other:
        other.mode = "error"
        src = inventory.InventorySource(CloudStackApi(other.url, KEY, SECRET), str(tmp_path),
                                        300.0, 3600.0)
        src.start()
        assert src.current is None and src.state() == "none"


def test_new_vms_refresh_at_most_once_per_name_and_a_few_times_a_minute(cloud, tmp_path):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    cloud.add("user", "i-2-99-VM")
    clock.now += 1
    assert src.refresh_for_new_vm("i-2-99-VM") is True
    assert "i-2-99-VM" in src.current.names
    assert src.refresh_for_new_vm("i-2-99-VM") is False  # this name already asked
    limit = inventory.NEW_VM_REFRESHES_PER_MINUTE
    asked = [src.refresh_for_new_vm(f"i-2-{n}-VM") for n in range(limit + 2)]
    assert asked == [True] * (limit - 1) + [False] * 3
    clock.now += 61
    assert src.refresh_for_new_vm("i-2-200-VM") is True


def test_staleness_is_alerted_once_after_the_configured_time(cloud, tmp_path):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    cloud.mode = "error"
    clock.now += 300                              # the next reading is due, and fails
    settled(src)
    clock.now += 3599
    assert not src.stale_alert_due()
    clock.now += 2
    assert src.stale_alert_due() and not src.stale_alert_due()
    status = src.status()
    assert status["inventory"] == "stale" and status["failing_since"]


def test_periodic_refresh_is_due_after_refresh_seconds(cloud, tmp_path):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    assert src.due_in() == 300.0 and not src.refresh_if_due()
    cloud.add("router", "r-77-VM")
    clock.now += 300
    assert settled(src) and "r-77-VM" in src.current.names


def settled(src, polls=400):
    """Poll refresh_if_due until the reading under way has finished: whether it
    said the names changed."""
    for _ in range(polls):
        if src.refresh_if_due():
            return True
        if src.due_in() != inventory.READ_POLL:
            return False
        time.sleep(0.05)
    raise AssertionError("the reading never finished")


def test_a_periodic_refresh_never_waits_for_the_api(cloud, tmp_path):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    cloud.add("router", "r-77-VM")
    cloud.delay, cloud.mode = 0.2, "slow"
    clock.now += 300
    assert src.refresh_if_due() is False        # started, not waited for
    assert src.due_in() == inventory.READ_POLL and "r-77-VM" not in src.current.names
    assert settled(src) and "r-77-VM" in src.current.names
    assert src.due_in() == 300.0


def test_a_new_vm_waits_a_bounded_time_then_gets_a_reading_of_its_own(cloud, tmp_path,
                                                                      caplog):
    clock = Clock()
    src = source(cloud, tmp_path, clock)
    src.start()
    cloud.delay, cloud.mode = 0.2, "slow"
    clock.now += 300
    src.refresh_if_due()                          # a periodic reading under way
    cloud.add("user", "i-2-99-VM")                # maybe after that reading listed user VMs
    with caplog.at_level(logging.WARNING, logger="csguard"):
        assert src.refresh_for_new_vm("i-2-99-VM", wait=0.05) is False
    assert "has not answered within 0.05 s: VM 'i-2-99-VM' is protected" in caplog.text
    settled(src)                                  # the periodic one ends, the VM's begins
    settled(src)
    readings = [command for command, _ in cloud.requests].count("listCapabilities")
    assert readings == 3                          # start, periodic, the VM's own
    assert "i-2-99-VM" in src.current.names


# ---- TLS ----

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return cert, key


def test_tls_is_verified_by_default_and_a_ca_file_makes_it_work(certificate):
    with CloudStackSim(api_key=KEY, secret_key=SECRET, certificate=certificate) as sim:
        with pytest.raises(CloudStackError) as caught:
            CloudStackApi(sim.url, KEY, SECRET, timeout=5).call("listCapabilities")
        assert "cloudstack.api.ca_file" in str(caught.value)
        api = CloudStackApi(sim.url, KEY, SECRET, timeout=5, ca_file=certificate[0])
        assert api.call("listCapabilities")["capability"]["cloudstackversion"]
        unverified = CloudStackApi(sim.url, KEY, SECRET, timeout=5, verify_tls=False)
        assert unverified.call("listCapabilities")


def test_the_shown_url_has_no_credentials_or_query():
    assert cloudstackapi.shown("https://cs.example.com:8443/client/api?x=1") == \
        "https://cs.example.com:8443/client/api"
    assert os.path.basename(inventory.INVENTORY_FILE) == "inventory.json"
