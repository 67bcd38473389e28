"""Fetch the pinned dependencies in rpm/requirements.txt and lay out their pure-Python
packages in one directory, for the RPM's private library.

dom0 must get exactly what was tested on Python 3.6 and nothing that needs a
compiler: each requirement is downloaded (no dependencies, wheels checked against
Python 3.6; PyYAML as its source release, since its wheels carry the libyaml C
extension) and only its top-level Python package is copied. Anything in that package
that is not a .py file stops the build.

usage: python3 rpm/vendor.py REQUIREMENTS DEST
DEST receives one directory per package, plus licenses/ with each project's license.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

# distribution name (normalised) -> the import package it ships
PACKAGES = {
    "xenapi": "XenAPI",
    "sdnotify": "sdnotify",
    "pyyaml": "yaml",
    "cachetools": "cachetools",
}
SOURCE_ONLY = ("PyYAML",)
LICENSE_NAMES = re.compile(r"^(LICEN[CS]E|COPYING)(\.txt|\.md|\.rst)?$", re.IGNORECASE)


class VendorError(Exception):
    """Why the dependencies cannot be vendored, in words the person building can act on."""


def normalise(name):
    return re.sub(r"[-_.]+", "", name).lower()


def read_requirements(path):
    """The `name==version` lines of a requirements file, as (name, version) pairs."""
    pins = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$", line)
            if not match:
                raise VendorError(f"{path}:{number}: {line!r} is not an exact pin; "
                                  "write name==version")
            if normalise(match.group(1)) not in PACKAGES:
                raise VendorError(f"{path}:{number}: {match.group(1)} is not known to "
                                  "rpm/vendor.py; add its import package to PACKAGES")
            pins.append((match.group(1), match.group(2)))
    return pins


def download(pins, dest):
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--python-version", "3.6", "--dest", dest]
    for name in SOURCE_ONLY:
        command += ["--no-binary", name]
    wanted = [f"{name}=={version}" for name, version in pins]
    if subprocess.call(command + wanted) != 0:
        raise VendorError(f"pip could not download {' '.join(wanted)}")


def artifact_pin(filename):
    """(normalised name, version) of a wheel or source tarball file name."""
    name, version = re.sub(r"(\.tar\.gz|\.zip|\.whl)$", "", filename).split("-")[:2]
    return normalise(name), version


def read_archive(path):
    """{member name: bytes} for every regular file of a wheel or source tarball."""
    if path.endswith((".whl", ".zip")):
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info)
                    for info in archive.infolist() if not info.filename.endswith("/")}
    with tarfile.open(path) as archive:
        return {member.name: archive.extractfile(member).read()
                for member in archive.getmembers() if member.isfile()}


def package_root(names, package):
    """The prefix inside an archive of the shallowest `package/__init__.py`, or None."""
    marker = package + "/__init__.py"
    roots = [name[: -len("__init__.py")] for name in names
             if (name == marker or name.endswith("/" + marker))
             and "/tests/" not in "/" + name]
    return min(roots, key=lambda root: root.count("/")) if roots else None


def extract(artifact, package, dest):
    files = read_archive(artifact)
    label = os.path.basename(artifact)
    root = package_root(files, package)
    if root is None:
        raise VendorError(f"{label} has no {package}/__init__.py")
    for name, data in files.items():
        relative = name[len(root):]
        if not name.startswith(root) or "__pycache__" in relative.split("/"):
            continue
        if not relative.endswith(".py"):
            raise VendorError(f"{label}: {package}/{relative} is not pure Python; "
                              "the RPM must not carry compiled code")
        write(os.path.join(dest, package, *relative.split("/")), data)
    licenses = sorted(name for name in files
                      if name.count("/") <= 1 and LICENSE_NAMES.match(name.rsplit("/", 1)[-1]))
    if licenses:
        license_name = package + "-" + licenses[0].rsplit("/", 1)[-1]
        write(os.path.join(dest, "licenses", license_name), files[licenses[0]])
        return
    notice = header_notice(files, root)
    if notice is None:
        raise VendorError(f"{label} carries no license file and no copyright notice: "
                          "it cannot be redistributed in the RPM")
    write(os.path.join(dest, "licenses", package + "-LICENSE"), notice)


def header_notice(files, prefix):
    """The copyright and license comment at the top of the package's first module that
    has one (XenAPI ships its BSD notice only there), as text; None if none has."""
    for name in sorted(n for n in files if n.startswith(prefix) and n.endswith(".py")):
        lines = []
        for line in files[name].decode("utf-8").splitlines():
            if not line.startswith("#"):
                break
            if not line.startswith("#!"):
                lines.append(line[2:] if line.startswith("# ") else line[1:])
        text = "\n".join(lines).strip() + "\n"
        if "Copyright" in text:
            return text.encode("utf-8")
    return None


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


def vendor(requirements, dest):
    pins = read_requirements(requirements)
    downloads = tempfile.mkdtemp(prefix="csguard-vendor-")
    try:
        download(pins, downloads)
        artifacts = {artifact_pin(name): name for name in os.listdir(downloads)}
        for name, version in pins:
            artifact = artifacts.get((normalise(name), version))
            if artifact is None:
                raise VendorError(f"pip downloaded no file for {name}=={version}")
            extract(os.path.join(downloads, artifact), PACKAGES[normalise(name)], dest)
    finally:
        shutil.rmtree(downloads)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python3 rpm/vendor.py REQUIREMENTS DEST\n")
        return 2
    try:
        vendor(argv[0], argv[1])
    except VendorError as error:
        sys.stderr.write(f"vendor.py: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
