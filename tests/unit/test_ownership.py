"""CloudStack's inventory as the ownership source: classify with and without an
inventory, the cloudstack.api options, and the API keys file."""
import collections
import os

import pytest
from csguard import config, records
from csguard.classify import ALIEN, CLOUDSTACK, EXEMPT, classify
from csguard.config import ConfigError, parse
from csguard.credentials import load_api_keys

NOW = 1795579805.0
UUID = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b3f"
API = config.Config(cloudstack_api_url="https://cs.example.com/client/api",
                    cloudstack_api_credentials_file="/etc/csguard/cloudstack.yaml")
Inventory = collections.namedtuple("Inventory", "names version read_at url")
INVENTORY = Inventory({"i-2-10-VM": "user VM", "r-4-VM": "virtual router",
                       "web-frontend": "user VM"}, "4.20.1.0", NOW - 60, "x")


def vm(name, **fields):
    record = {"uuid": UUID, "name_label": name, "is_control_domain": False,
              "is_a_template": False, "is_a_snapshot": False, "other_config": {},
              "tags": [], "blocked_operations": {}}
    record.update(fields)
    return record


@pytest.mark.parametrize("name", ["i-2-10-VM", "r-4-VM", "web-frontend"])
def test_a_vm_the_inventory_holds_is_cloudstacks(name):
    verdict = classify(vm(name), API, NOW, INVENTORY)
    assert (verdict.kind, verdict.rule) == (CLOUDSTACK, "cloudstack-inventory")
    assert INVENTORY.names[name] in verdict.reason


@pytest.mark.parametrize("name", ["i-2-11-VM", "r-5-VM", "s-1-VM", "v-2-VM", "b-3-VM"])
def test_a_cloudstack_name_the_inventory_lacks_is_protected_saying_why(name):
    verdict = classify(vm(name), API, NOW, INVENTORY)
    assert (verdict.kind, verdict.rule) == (ALIEN, "not-in-inventory")
    assert "does not hold it" in verdict.reason
    assert "stop or destroy by name" in verdict.reason


@pytest.mark.parametrize("name", ["l-3-VM", "NS-7-Vpx"])
def test_vms_no_api_lists_keep_the_name_rule(name):
    verdict = classify(vm(name), API, NOW, INVENTORY)
    assert verdict.kind == CLOUDSTACK and "decided by name" in verdict.reason


def test_without_an_inventory_every_cloudstack_name_is_protected():
    verdict = classify(vm("i-2-10-VM"), API, NOW, None)
    assert (verdict.kind, verdict.rule) == (ALIEN, "cloudstack-no-inventory")


def test_other_names_stay_aliens_and_name_rules_apply_without_the_api():
    assert classify(vm("web01"), API, NOW, INVENTORY).kind == ALIEN
    assert classify(vm("i-2-11-VM"), config.Config(), NOW, INVENTORY).kind == CLOUDSTACK


def test_overrides_and_exemptions_still_come_first():
    protect = vm("i-2-10-VM", tags=["csguard-protect"])
    assert classify(protect, API, NOW, INVENTORY).kind == ALIEN
    exemption = records.format_exemption(records.Exemption("root", NOW - 5, None, "test", UUID))
    exempt = vm("i-2-11-VM", other_config={records.KEY_EXEMPTION: exemption})
    assert classify(exempt, API, NOW, INVENTORY).kind == EXEMPT


def test_reasons_do_not_change_with_each_refresh():
    later = INVENTORY._replace(read_at=NOW + 300)
    for name in ("i-2-10-VM", "i-2-11-VM"):
        assert classify(vm(name), API, NOW, INVENTORY) == classify(vm(name), API, NOW, later)


# ---- options ----

def test_api_options_and_their_defaults():
    cfg = parse("cloudstack:\n  api:\n    url: https://cs.example.com/client/api\n"
                "    credentials_file: /etc/csguard/cloudstack.yaml\n")
    assert cfg.cloudstack_api_url == "https://cs.example.com/client/api"
    assert cfg.cloudstack_api_refresh == 300.0 and cfg.cloudstack_api_verify_tls is True
    assert cfg.cloudstack_api_ca_file is None and cfg.cloudstack_api_stale_alert == 3600.0
    assert not cfg.warnings
    assert config.Config().cloudstack_api_url is None


@pytest.mark.parametrize("text, problem", [
    ("cloudstack: {api: {url: 'https://cs/client/api'}}", "needs cloudstack.api.credentials_file"),
    ("cloudstack: {api: {credentials_file: /etc/k}}", "only used with cloudstack.api.url"),
    ("cloudstack: {api: {url: 'ftp://cs/'}}", "must be http(s)://"),
    ("cloudstack: {api: {url: 'https://u:p@cs/client/api'}}", "must not contain a user"),
    ("cloudstack: {api: {refresh: 1}}", "between 10 and 86400"),
    ("cloudstack: {api: {verify_tls: 'no'}}", "true or false"),
    ("cloudstack: {api: {ca_file: relative.pem}}", "absolute path"),
])
def test_bad_api_options(text, problem):
    with pytest.raises(ConfigError) as caught:
        parse(text, "f.yaml")
    assert problem in str(caught.value)


def test_risky_api_options_are_warned_about():
    cfg = parse("cloudstack: {api: {url: 'http://cs/client/api', credentials_file: /k, "
                "verify_tls: false}}")
    assert any("plain http" in w for w in cfg.warnings)
    assert any("verify_tls is false" in w for w in cfg.warnings)


# ---- the API keys file ----

def _keys(tmp_path, text, mode=0o600):
    path = tmp_path / "cloudstack.yaml"
    path.write_text(text)
    os.chmod(str(path), mode)
    return str(path)


def test_api_keys_are_read(tmp_path):
    path = _keys(tmp_path, "api_key: AK-1\nsecret_key: SK-very-secret\n")
    assert load_api_keys(path) == ("AK-1", "SK-very-secret")


@pytest.mark.parametrize("text, mode, problem", [
    ("api_key: a\nsecret_key: SK-very-secret\n", 0o644, "chmod 600"),
    ("api_key: a\nsecret_key: SK-very-secret\n", 0o640, "chmod 600"),
    ("api_key: a\n", 0o600, "exactly api_key and secret_key"),
    ("api_key: a\nsecret_key: SK-very-secret\nuser: x\n", 0o600, "exactly api_key"),
    ("api_key: a\nsecret_key: ''\n", 0o600, "non-empty text"),
    ("[SK-very-secret]\n", 0o600, "exactly api_key"),
    ("api_key: [\n", 0o600, "not a YAML mapping"),
])
def test_bad_api_keys_files_are_refused_without_showing_the_secret(tmp_path, text, mode,
                                                                   problem):
    path = _keys(tmp_path, text, mode)
    with pytest.raises(ConfigError) as caught:
        load_api_keys(path)
    assert problem in str(caught.value) and "SK-very-secret" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file away")
def test_an_api_keys_file_root_does_not_own_is_refused(tmp_path):
    path = _keys(tmp_path, "api_key: a\nsecret_key: b\n")
    os.chown(path, 1000, 1000)
    with pytest.raises(ConfigError) as caught:
        load_api_keys(path)
    assert "belongs to uid 1000" in str(caught.value)


# ---- preflight with the inventory ----

def _report(inventory, cloudstack):
    from csguard import preflight
    vms = {"OpaqueRef:a": vm("i-2-10-VM"), "OpaqueRef:b": dict(vm("i-2-11-VM"), uuid=UUID2),
           "OpaqueRef:c": dict(vm("web01"), uuid=UUID3)}
    return preflight.analyse(vms, {}, {"uuid": "p", "name_label": "pool"}, API, {}, NOW,
                             inventory, cloudstack)


UUID2 = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b40"
UUID3 = "0e4bc8f5-5c2b-4cbc-9ab5-ecdf1f5f0b41"
READ_NOW = {"url": "https://cs.example.com/client/api", "version": "4.20.1.0",
            "inventory": "read now", "vms": 3, "error": None}


def test_preflight_says_per_vm_whether_cloudstack_owns_it():
    from csguard import preflight
    report = _report(INVENTORY, READ_NOW)
    owns = {row.name: row.cloudstack_owns for row in report.vms}
    assert owns == {"i-2-10-VM": "yes", "i-2-11-VM": "no", "web01": "no"}
    missing = [f for f in report.findings if f.code == "cloudstack-vms-not-in-pool"]
    assert [item.name for item in missing[0].vms] == ["r-4-VM", "web-frontend"]
    text = preflight.format_text(report)
    assert "CloudStack: https://cs.example.com/client/api, version 4.20.1.0" in text
    assert "CLOUDSTACK OWNS IT" in text
    assert preflight.to_dict(report)["cloudstack"]["version"] == "4.20.1.0"


def test_preflight_without_an_inventory_says_so_and_warns():
    report = _report(None, dict(READ_NOW, inventory="none", version=None, vms=0,
                                error="CloudStack refused listCapabilities (error 401)"))
    assert {row.cloudstack_owns for row in report.vms} == {"no inventory"}
    assert any(f.code == "no-inventory" and f.severity == "warning" for f in report.findings)


def test_preflight_without_the_api_shows_no_ownership_column():
    from csguard import preflight
    vms = {"OpaqueRef:a": vm("i-2-10-VM")}
    report = preflight.analyse(vms, {}, {"uuid": "p"}, config.Config(), {}, NOW)
    assert report.cloudstack is None and report.vms[0].cloudstack_owns is None
    assert "CLOUDSTACK OWNS IT" not in preflight.format_text(report)
