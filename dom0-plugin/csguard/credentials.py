"""Credential files: secrets csguard reads but never shows. A file is refused
unless only its owner can read it, and no error message quotes its content."""
import os
import stat

import yaml

from csguard.config import ConfigError

MAX_CREDENTIALS_SIZE = 64 * 1024


def _read_private(path, same_owner=False):
    """The bytes of a file only its owner (with same_owner: only the user csguard
    runs as, root on a host) can read."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            mode = info.st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError("is not a regular file", source=path)
            if mode & 0o077:
                raise ConfigError(
                    f"is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
                    f"it holds a secret: run chmod 600 {path}", source=path)
            if same_owner and info.st_uid != os.geteuid():
                raise ConfigError(
                    f"belongs to uid {info.st_uid}, not to the user csguard runs as (uid "
                    f"{os.geteuid()}): whoever owns it could change it; run chown root "
                    f"{path}", source=path)
            data = handle.read(MAX_CREDENTIALS_SIZE + 1)
    except OSError as error:
        raise ConfigError(f"cannot read it: {error.strerror or error}", source=path) from None
    if len(data) > MAX_CREDENTIALS_SIZE:
        raise ConfigError("is too large to be a credentials file", source=path)
    return data


def load_api_keys(path):
    """(api_key, secret_key) from a YAML file with those two keys, owned by root and
    readable by root alone: the secret key lets anyone read CloudStack's inventory
    under csguard's name."""
    data = _read_private(path, same_owner=True)
    usage = "write two lines, api_key: <key> and secret_key: <key> (CloudStack's UI: the " \
            "user's Generate keys)"
    try:
        document = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ConfigError("is not a YAML mapping: " + usage, source=path) from None
    if not isinstance(document, dict) or set(document) != {"api_key", "secret_key"}:
        raise ConfigError("must hold exactly api_key and secret_key: " + usage, source=path)
    keys = [document["api_key"], document["secret_key"]]
    if not all(isinstance(key, str) and key.strip() and key.isprintable() for key in keys):
        raise ConfigError("api_key and secret_key must be non-empty text: " + usage,
                          source=path)
    return keys[0].strip(), keys[1].strip()


def load_credentials(path):
    """(user, password) from a credentials file: "user" and "password" on two lines,
    or one "user:password" line. Refused unless only its owner can read it."""
    data = _read_private(path)
    try:
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", source=path) from None
    usage = "write the user name on the first line and the password on the second"
    if not lines:
        raise ConfigError("is empty: " + usage, source=path)
    if len(lines) > 2:
        raise ConfigError("has more than two lines: " + usage, source=path)
    if len(lines) == 1:
        if ":" not in lines[0]:
            raise ConfigError("has one line without ':': " + usage +
                              ", or write user:password on one line", source=path)
        user, password = lines[0].split(":", 1)
    else:
        user, password = lines
    user = user.strip()
    if not user:
        raise ConfigError("has an empty user name: " + usage, source=path)
    if not password:
        raise ConfigError("has an empty password: " + usage, source=path)
    return user, password


def credentials_for(url, config):
    """(user, password) for an http(s) URL from the configured credentials file;
    None for the local socket, where XAPI ignores credentials."""
    if url.startswith("unix://") or not config.credentials_file:
        return None
    return load_credentials(config.credentials_file)
