"""The package imports and carries one version string."""
import re

import csguard


def test_version_is_semantic():
    assert re.match(r"^\d+\.\d+\.\d+$", csguard.__version__)
