"""CloudStack's naming rules decide which VMs it attacks: pin their edge cases."""
import pytest

from cloudstack import names

V4_0, V4_2 = (4, 0, 2), (4, 2, 0)


@pytest.mark.parametrize("name, vm_id", [
    ("i-2-17-VM", 17),                 # user VM
    ("i-2-17-VM-1f4", 17),             # with a vnet in hex
    ("i-2-17-VM-untagged", 17),
    ("r-5-VM", 5), ("r-5-VM-x", 5),    # virtual router (4 parts allowed)
    ("v-3-VM", 3), ("s-4-VM", 4), ("l-6-VM", 6),
    ("i-2-+17-VM", 17),                # Long.parseLong takes a sign
])
def test_cloudstack_names_convert_to_their_id(name, vm_id):
    assert names.convert_to_id(name, "VM", V4_0) == vm_id


@pytest.mark.parametrize("name", [
    "Windows 7 (32-bit) (1)",          # the article's VM
    "i-2-17-VM-zz",                    # vnet not hex
    "i-2-17-PROD",                     # another instance.name
    "i-x-17-VM", "i-2-17", "i-2-17-VM-1-2",
    "v-3-VM-extra",                    # system VMs have exactly three parts
    "b-7-VM",                          # internal LB VMs exist from 4.2 only
    "NS-8-Vpx", "r-5", "",
    "i-2-99999999999999999999-VM",     # beyond a Java long
])
def test_other_names_are_aliens(name):
    assert names.convert_to_id(name, "VM", V4_0) is None


def test_internal_lb_vms_are_cloudstack_from_4_2():
    assert names.convert_to_id("b-7-VM", "VM", V4_2) == 7


def test_trailing_separators_are_dropped_like_java_split():
    assert names.convert_to_id("v-3-VM--", "VM", V4_0) == 3


@pytest.mark.parametrize("name, alien", [
    ("i-2-17-VM", False), ("v-3-VM", False), ("s-4-VM", False),
    ("r-5-VM", True), ("l-6-VM", True), ("b-7-VM", True), ("NS-8-Vpx", True),
    ("i-2-", True), ("i-2-x\n", True), ("my-vm", True),
])
def test_is_alien_vm_of_4_3_keeps_only_i_v_s(name, alien):
    assert names.is_alien_since_4_3(name) is alien
