"""credentials: the credentials file's formats, every refusal, and no password in
any message."""
import os
import re

import pytest
from csguard.config import ConfigError
from csguard.credentials import MAX_CREDENTIALS_SIZE, load_credentials


def _credentials(tmp_path, content, mode=0o600):
    path = tmp_path / "xapi.secret"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    os.chmod(str(path), mode)
    return str(path)


@pytest.mark.parametrize("content, expected", [
    ("root\nxenroot\n", ("root", "xenroot")),
    ("root\nxenroot", ("root", "xenroot")),
    ("root\r\nxen root\r\n", ("root", "xen root")),
    ("root\npass:with:colons\n", ("root", "pass:with:colons")),
    ("root:xenroot\n", ("root", "xenroot")),
    ("root:pa:ss\n", ("root", "pa:ss")),
    ("\n root \n\nxenroot\n\n", ("root", "xenroot")),
    ("r\u00f6ot\np\u00e4ss\n", ("r\u00f6ot", "p\u00e4ss")),
])
def test_credentials(tmp_path, content, expected):
    assert load_credentials(_credentials(tmp_path, content)) == expected


@pytest.mark.parametrize("content, problem", [
    ("", "is empty"),
    ("\n\n  \n", "is empty"),
    ("rootxenroot\n", "has one line without ':'"),
    ("root\nxenroot\nextra\n", "has more than two lines"),
    (":xenroot\n", "empty user name"),
    ("root:\n", "empty password"),
    (b"root\n\xff\xfe\n", "is not UTF-8"),
    ("x" * (MAX_CREDENTIALS_SIZE + 1), "too large"),
])
def test_bad_credentials_files(tmp_path, content, problem):
    path = _credentials(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_credentials(path)
    assert str(caught.value).startswith(path + ": ")
    assert problem in str(caught.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620, 0o606, 0o700 | 0o004])
def test_credentials_readable_by_others_are_refused(tmp_path, mode):
    path = _credentials(tmp_path, "root\nsupersecret\n", mode)
    with pytest.raises(ConfigError) as caught:
        load_credentials(path)
    message = str(caught.value)
    assert f"chmod 600 {path}" in message
    assert f"{mode:04o}" in message
    assert "supersecret" not in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_credentials_are_accepted(tmp_path, mode):
    assert load_credentials(_credentials(tmp_path, "u:p", mode)) == ("u", "p")


def test_credential_errors_never_show_the_password(tmp_path):
    for content in ("root\nsupersecret\nmore\n", "supersecret\n", ":supersecret\n"):
        with pytest.raises(ConfigError) as caught:
            load_credentials(_credentials(tmp_path, content))
        assert "supersecret" not in str(caught.value)


def test_missing_credentials_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_credentials(str(tmp_path / "none"))
    assert "cannot read it" in str(caught.value)


def test_a_credentials_path_that_is_not_a_file(tmp_path):
    os.chmod(str(tmp_path), 0o700)
    with pytest.raises(ConfigError) as caught:
        load_credentials(str(tmp_path))
    assert re.search(r"not a regular file|cannot read it", str(caught.value))
