"""What the RPM holds and declares: files, modes, config flags, version, dependencies."""
import datetime
import os
import re

from csguard import __version__

from .conftest import REPO, query

LIBRARY = "/usr/lib/csguard"
VENDORED = {"XenAPI", "yaml", "sdnotify", "cachetools"}
OUTSIDE_LIBRARY = {
    "/usr/bin/csguard",
    "/etc/xapi.d/plugins/csguard",
    "/etc/csguard",
    "/etc/csguard/csguard.yaml",
    "/usr/lib/systemd/system/csguard.service",
    "/var/lib/csguard",
    "/usr/libexec/csguard",
    "/usr/libexec/csguard/redacted-config",
    "/etc/xensource/bugtool/csguard.xml",
    "/etc/xensource/bugtool/csguard",
    "/etc/xensource/bugtool/csguard/stuff.xml",
}
# What the rpm of CentOS 7 based dom0s (4.11.3) can install; a newer rpmbuild adds
# others (PayloadIsZstd, LargeFiles, RichDependencies) only when the spec asks for them.
DOM0_RPMLIB = {
    "BuiltinLuaScripts", "CompressedFileNames", "ConcurrentAccess",
    "ExplicitPackageProvide", "FileCaps", "FileDigests", "HeaderLoadSortsTags",
    "PartialHardlinkSets", "PayloadFilesHavePrefix", "PayloadIsBzip2", "PayloadIsLzma",
    "PayloadIsXz", "ScriptletExpansion", "ScriptletInterpreterArgs", "TildeInVersions",
    "VersionedDependencies",
}


def file_table(rpm_path):
    """{path: (permissions, user, group, rpm file flags)} of every file in the RPM."""
    out = query(rpm_path, "--qf",
                "[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}"
                "\t%{FILEFLAGS:fflags}\n]")
    table = {}
    for line in out.splitlines():
        path, perms, user, group, flags = line.split("\t")
        table[path] = (perms, user, group, flags)
    return table


def repo_package_files():
    package = os.path.join(REPO, "dom0-plugin", "csguard")
    found = set()
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                relative = os.path.relpath(os.path.join(directory, name), package)
                found.add(LIBRARY + "/csguard/" + relative)
    return found


def test_version_and_release_come_from_the_package(rpm_path):
    assert query(rpm_path, "--qf", "%{VERSION} %{RELEASE} %{ARCH}") == \
        f"{__version__} 1 noarch"
    assert os.path.basename(rpm_path) == f"csguard-{__version__}-1.noarch.rpm"


def test_files_outside_the_private_library_are_the_installed_interfaces(rpm_path):
    paths = set(file_table(rpm_path))
    others = {p for p in paths
              if p != LIBRARY and not p.startswith(LIBRARY + "/")
              and not p.startswith("/usr/share/licenses/")}
    assert others == OUTSIDE_LIBRARY


def test_private_library_holds_csguard_and_the_vendored_packages_only(rpm_path):
    paths = set(file_table(rpm_path))
    library = {p[len(LIBRARY) + 1:] for p in paths if p.startswith(LIBRARY + "/")}
    assert {p.split("/")[0] for p in library} == VENDORED | {"csguard"}
    assert {LIBRARY + "/" + p for p in library
            if p.startswith("csguard/") and p.endswith(".py")} == repo_package_files()
    sources = {p for p in library if p.endswith(".py")}
    compiled = {p for p in library if "." in p.rsplit("/", 1)[-1] and not p.endswith(".py")}
    assert compiled == {bytecode36(p) for p in sources}, \
        "Python source and its bytecode for dom0's Python 3.6 only (no C extensions)"


def bytecode36(source):
    """Where Python 3.6 keeps the bytecode of a source file (PEP 3147)."""
    directory, name = source.rsplit("/", 1)
    return f"{directory}/__pycache__/{name[:-3]}.cpython-36.pyc"


def test_vendored_licenses_ship(rpm_path):
    licenses = {os.path.basename(p) for p, (perms, _, _, _) in file_table(rpm_path).items()
                if p.startswith("/usr/share/licenses/") and perms.startswith("-")}
    assert licenses == {"LICENSE", "cachetools-LICENSE", "sdnotify-LICENSE.txt",
                        "yaml-LICENSE", "XenAPI-LICENSE"}


# How each license text shipped is recognised, and its name in the License tag
# (the short names of CentOS 7's rpm, which dom0 runs).
LICENSE_KINDS = (
    ("Apache License\n                           Version 2.0", "ASL 2.0"),
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Redistribution and use in source and binary forms", "BSD"),
)


def test_license_tag_names_every_license_shipped(rpm_path, payload_root):
    licenses_dir = [os.path.join(directory, name)
                    for directory, _, names in os.walk(payload_root)
                    if "/usr/share/licenses/" in directory + "/" for name in names]
    kinds = set()
    for path in licenses_dir:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = [kind for phrase, kind in LICENSE_KINDS if phrase in text]
        assert len(found) == 1, f"{path}: not one known license"
        kinds.update(found)
    assert set(query(rpm_path, "--qf", "%{LICENSE}").split(" and ")) == kinds


def test_license_file_is_the_apache_license_and_ships(payload_root):
    with open(os.path.join(REPO, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 11000, "the full text"
    shipped = [os.path.join(directory, "LICENSE")
               for directory, _, names in os.walk(payload_root) if "LICENSE" in names]
    assert len(shipped) == 1
    with open(shipped[0], encoding="utf-8") as f:
        assert f.read() == text


def test_url_and_a_changelog_entry_for_this_version(rpm_path):
    assert query(rpm_path, "--qf", "%{URL}").startswith("https://")
    newest = query(rpm_path, "--changelog").splitlines()[0]
    match = re.match(r"^\* (\w{3} \w{3} \d{2} \d{4}) .+ <[^>]+@[^>]+> - (\S+)-(\d+)$", newest)
    assert match, newest
    day = datetime.datetime.strptime(match.group(1), "%a %b %d %Y")
    assert day.strftime("%a") == match.group(1)[:3], "rpm refuses a wrong weekday"
    assert match.group(2) == __version__, "a new version needs its %changelog entry"


def test_modes_owners_and_config_flags(rpm_path):
    table = file_table(rpm_path)
    assert table["/etc/csguard/csguard.yaml"][:3] == ("-rw-r-----", "root", "root")
    assert set(table["/etc/csguard/csguard.yaml"][3]) >= {"c", "n"}, \
        "the config must be %config(noreplace): an upgrade keeps the operator's file"
    assert table["/usr/bin/csguard"][0] == "-rwxr-xr-x"
    assert table["/etc/xapi.d/plugins/csguard"][0] == "-rwxr-xr-x"
    assert table["/usr/lib/systemd/system/csguard.service"][0] == "-rw-r--r--"
    assert table["/var/lib/csguard"][0] == "drwxr-x---"
    assert table["/usr/libexec/csguard/redacted-config"][0] == "-rwxr-xr-x"
    assert table["/etc/xensource/bugtool/csguard/stuff.xml"][0] == "-rw-r--r--"
    assert {(user, group) for _, user, group, _ in table.values()} == {("root", "root")}
    configs = sorted(p for p, (_, _, _, flags) in table.items() if "c" in flags)
    assert configs == ["/etc/csguard/csguard.yaml"]


def test_requires_only_python36_and_systemd(rpm_path):
    requires = set(query(rpm_path, "--requires").splitlines())
    rpmlib = {r for r in requires if r.startswith("rpmlib(")}
    assert requires - rpmlib == {"python3 >= 3.6", "systemd", "/bin/sh"}


def test_rpmlib_features_are_known_to_dom0s_rpm(rpm_path):
    requires = query(rpm_path, "--requires").splitlines()
    features = {r.split("(", 1)[1].split(")", 1)[0] for r in requires
                if r.startswith("rpmlib(")}
    assert features <= DOM0_RPMLIB
    assert query(rpm_path, "--qf", "%{PAYLOADCOMPRESSOR}") == "gzip"


def test_provides_nothing_but_itself(rpm_path):
    provides = query(rpm_path, "--provides").splitlines()
    assert provides == [f"csguard = {__version__}-1"], \
        "the vendored packages must not be offered to other packages"


def test_the_plugin_and_the_command_start_dom0s_python3_isolated(payload_root):
    """XAPI execs the plugin file itself with PATH alone: its interpreter line names
    dom0's python3 (3.6 on XenServer 8 / XCP-ng 8.3, 3.11+ on XenServer 9 / XCP-ng 9)
    by its path, isolated (-I) like the command, never through `env`."""
    lines = {}
    for path in ("etc/xapi.d/plugins/csguard", "usr/bin/csguard"):
        with open(os.path.join(payload_root, path)) as f:
            lines[path] = f.readline().rstrip("\n")
    assert set(lines.values()) == {"#!/usr/bin/python3 -I"}, lines
