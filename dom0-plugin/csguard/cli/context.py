"""What a command needs besides its arguments, and how the command line and the
host plugin make it: the configuration, who acts, and a XAPI connection."""
import collections
import os
import pwd
import time

from csguard import classify, inventory, preflight
from csguard import config as configuration
from csguard.credentials import credentials_for
from csguard.options import VALIDATORS, Invalid
from csguard.outcome import BAD_ARGUMENT, CONFIG_ERROR, CommandError
from csguard.xapi import Xapi, tls_options

ENV_XAPI_URL = "CSGUARD_XAPI_URL"
ENV_CONFIG = "CSGUARD_CONFIG"
# What the commands read of a VM record: classify/plan's fields plus what vm-list
# and preflight show.
VM_FIELDS = tuple(collections.OrderedDict.fromkeys(
    classify.FIELDS + ("uuid", "name_label", "power_state", "blocked_operations")
    + preflight.VM_FIELDS))


class Context:
    """What a command needs besides its arguments: the config, who acts (for the
    audit record), a XAPI connection made on first use, and the clock."""

    def __init__(self, config, who, connect, now=time.time, state_dir_given=False):
        self.config = config
        self.state_dir_given = state_dir_given
        self.who = who
        self.now = now
        self._connect = connect
        self._xapi = None
        self._inventory = self._not_read = object()

    def pool_now(self):
        """The pool master's clock: exemptions start and end on it (its daemon ends
        them), whatever this host's clock says."""
        return self.xapi.master_time()

    @property
    def xapi(self):
        if self._xapi is None:
            self._xapi = self._connect()
        return self._xapi

    @property
    def inventory(self):
        """The inventory the daemon keeps (with cloudstack.api), so that commands
        decide as the daemon does; None without one."""
        if self._inventory is self._not_read:
            self._inventory = inventory.kept(self.config)
        return self._inventory

    def close(self):
        if self._xapi is not None:
            self._xapi.logout()
            self._xapi = None


def load_config(options, warn=None):
    """The Config with the command line's --xapi-url (or CSGUARD_XAPI_URL) and
    --state-dir. An explicit --config (or CSGUARD_CONFIG) must exist; the default
    file may be absent, then the built-in defaults apply. A bad file is a
    configuration error (78) unless warn is given (for commands needed most when
    the file is broken): then warn(text) is called and the defaults apply. A bad
    option value is a usage error (64)."""
    path = options.get("--config") or os.environ.get(ENV_CONFIG)
    try:
        if path is None and not os.path.exists(configuration.DEFAULT_PATH):
            config = configuration.Config()
        else:
            config = configuration.load(path or configuration.DEFAULT_PATH)
    except configuration.ConfigError as e:
        if warn is None:
            raise CommandError(CONFIG_ERROR, str(e))
        warn(f"{e}; going on with the built-in defaults")
        config = configuration.Config()
    for field, label, value in (
            ("xapi_url", "--xapi-url", options.get("--xapi-url")),
            ("xapi_url", ENV_XAPI_URL, None if options.get("--xapi-url")
             else os.environ.get(ENV_XAPI_URL)),
            ("state_dir", "--state-dir", options.get("--state-dir"))):
        if value:
            config = config._replace(**{field: _checked(field, label, value)})
    return config


def _checked(field, label, value):
    """The option's value as the configuration file's validator reads it; a bad one
    is a usage error naming the option."""
    try:
        return VALIDATORS[field](value)
    except Invalid as e:
        raise CommandError(BAD_ARGUMENT, f"{label} {e.problem}")


def credentials(url, config):
    """(user, password) for an http(s) XAPI, from the configured credentials file."""
    try:
        return credentials_for(url, config)
    except configuration.ConfigError as e:
        raise CommandError(CONFIG_ERROR, str(e))


def xapi_options(config):
    """Xapi keyword arguments: keep what the commands read of VM records, including
    a configured override key outside csguard's own "csguard:" keys."""
    override = (config.override_key,) if config.override_key else ()
    return {"vm_fields": VM_FIELDS,
            "other_config_keys": override + preflight.OTHER_CONFIG_KEYS}


def connect(url, credentials, config):
    try:
        xapi = Xapi(url, credentials=credentials, timeout=config.call_timeout,
                    originator="csguard-cli", **xapi_options(config), **tls_options(config))
    except ValueError as e:
        raise CommandError(BAD_ARGUMENT, str(e))
    xapi.login()
    return xapi


def local_user():
    """Who runs the command, for the audit record: the sudo caller, else the login
    user, else the account of this process."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return os.getlogin()
    except OSError:
        pass
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"
