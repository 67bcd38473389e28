"""Real VM records from ../shared/realdata (public fixtures of XenServer 4.x to 7.x,
see its SOURCES.md), read at test time and never copied into the project.

Four formats: xapi database dumps (``xenadmin/*.xml``: rows of the VM table, field
names with ``__`` for ``_``, maps and sets as xapi's S-expressions, as
``database/db_xml.ml`` writes them), ``VM.get_all_records`` answers (``sas_xenent.json``,
``ansible_vm_params.json``) and one ova.xml VM struct (``xs55_ova_vm.xml``, XML-RPC).
``vm_records`` yields each as (source, record with XAPI's field names).
"""
import json
import os
import re
import xmlrpc.client
from xml.etree import ElementTree

from .lifecycle import refresh_allowed_operations

_TOKEN = re.compile(r"""\s*(?:(\()|(\))|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""", re.DOTALL)
_BOOLEANS = ("is_a_template", "is_a_snapshot", "is_control_domain", "ha_always_run")


def default_dir(repo_root):
    """<repo>/../shared/realdata, or None when this checkout has no such directory."""
    path = os.path.join(os.path.dirname(os.path.abspath(repo_root)), "shared", "realdata")
    return path if os.path.isdir(path) else None


def sexpr(text):
    """xapi's S-expression of a map or set: ``(('k' 'v') ...)`` -> dict, ``('a' ...)``
    -> list; strings in single or double quotes, a backslash escapes the next
    character."""
    stack, position = [[]], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"not an S-expression at {position}: {text[position:position + 20]!r}")
        position = match.end()
        if match.group(1):
            stack.append([])
        elif match.group(2):
            done = stack.pop()
            stack[-1].append(done)
        else:
            quoted = match.group(3) if match.group(3) is not None else match.group(4)
            stack[-1].append(re.sub(r"\\(.)", r"\1", quoted))
    (value,) = stack[0]
    if value and all(isinstance(item, list) and len(item) == 2 for item in value):
        return {key: item for key, item in value}
    return value


def _dump_rows(path):
    for row in ElementTree.parse(path).getroot().iter("row"):
        record = {}
        for column, text in row.attrib.items():
            field = column.replace("__", "_")
            if field in ("ref", "_ref"):
                continue
            if field in _BOOLEANS:
                record[field] = text == "true"
            elif text.startswith("("):
                record[field] = sexpr(text)
            else:
                record[field] = text
        for field in ("other_config", "blocked_operations", "current_operations", "platform",
                      "xenstore_data"):
            if record.get(field) == []:
                record[field] = {}
        yield record


def vm_records(directory):
    """Every real VM record: [(source, record)], records in XAPI's field names."""
    found = []
    dumps = os.path.join(directory, "xenadmin")
    for name in sorted(os.listdir(dumps)):
        for record in _dump_rows(os.path.join(dumps, name)):
            found.append((f"xenadmin/{name}", record))
    with open(os.path.join(directory, "sas_xenent.json")) as source:
        for capture, answer in sorted(json.load(source)["captures"].items()):
            for record in answer["records"].values():
                found.append((f"sas_xenent.json {capture}", record))
    with open(os.path.join(directory, "ansible_vm_params.json")) as source:
        for path, records in sorted(json.load(source)["files"].items()):
            for record in records.values():
                found.append((f"ansible_vm_params.json {os.path.basename(path)}", record))
    with open(os.path.join(directory, "xs55_ova_vm.xml")) as source:
        body = source.read()
    (record,), _ = xmlrpc.client.loads(
        f"<methodResponse><params><param>{body}</param></params></methodResponse>")
    found.append(("xs55_ova_vm.xml", record))
    return found


# The fields a real record brings into the simulator; references (affinity,
# resident_on, snapshot_of, devices) point into another database and are left out.
_FIELDS = {"name_label": str, "name_description": str, "other_config": dict, "tags": list,
           "blocked_operations": dict, "is_a_template": bool, "is_a_snapshot": bool,
           "is_control_domain": bool, "HVM_boot_policy": str, "PV_bootloader": str,
           "PV_args": str, "platform": dict, "xenstore_data": dict}


def load(pool, records):
    """Put real records into the pool as if they had always been there (their own
    uuid, flags, names, other_config, tags, blocks); returns [(source, uuid)]. A uuid
    already present is skipped."""
    loaded = []
    with pool.db.lock:
        for source, record in records:
            uuid = record.get("uuid")
            if not isinstance(uuid, str) or uuid in pool.db.uuid_index["VM"]:
                continue
            state = record.get("power_state")
            ref, uuid = pool.create_vm(
                str(record.get("name_label", "")), uuid=uuid, notify=False,
                power_state=state if state in ("Running", "Halted", "Paused", "Suspended")
                else "Halted")
            changes = {}
            for field, kind in _FIELDS.items():
                value = record.get(field)
                if isinstance(value, kind) and field in pool.db.get("VM", ref):
                    changes[field] = dict(value) if kind is dict else (
                        list(value) if kind is list else value)
            pool.db.update("VM", ref, changes)
            refresh_allowed_operations(pool.db, ref)
            loaded.append((source, uuid))
        pool.db.changed.notify_all()
    return loaded
