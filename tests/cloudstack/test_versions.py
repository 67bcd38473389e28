"""The version string picks CloudStack's behaviour: bad input must say so."""
import pytest

from cloudstack import CloudStack, parse_version


def test_versions_compare_as_numbers():
    assert parse_version("4.10") > parse_version("4.2.1") > parse_version("4.2")


@pytest.mark.parametrize("text", ["main", "4.x", "", "4..2", "v4.2"])
def test_a_version_that_is_not_dotted_numbers_is_refused_by_name(text):
    with pytest.raises(ValueError, match="expected dotted numbers"):
        CloudStack(session=None, version=text)
