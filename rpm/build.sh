#!/usr/bin/env bash
# Build the csguard RPM: rpm/build.sh [OUTDIR]   (default OUTDIR: build/rpm)
# Prints the path of the .rpm it wrote. Needs rpmbuild and a python3 with pip
# (PYTHON=... to choose it); downloads the pinned dependencies of rpm/requirements.txt.
# Version: __version__ in dom0-plugin/csguard/__init__.py. Release: CSGUARD_RELEASE
# (default 1), to be raised only when the same version is rebuilt differently.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
outdir=$(mkdir -p "${1:-$repo/build/rpm}" && cd "${1:-$repo/build/rpm}" && pwd)
python=${PYTHON:-python3}
release=${CSGUARD_RELEASE:-1}

fail() { echo "rpm/build.sh: $*" >&2; exit 1; }

command -v rpmbuild >/dev/null \
  || fail "rpmbuild not found: install it (Debian: apt-get install rpm; EL: yum install rpm-build)"
for file in dom0-plugin/csguard/__init__.py xapi-hooks/csguard rpm/csguard.yaml \
            rpm/csguard.service rpm/csguard.spec rpm/requirements.txt; do
  [ -f "$repo/$file" ] || fail "$file is missing; the RPM cannot be built without it"
done

version=$("$python" -c '
import re, sys
text = open(sys.argv[1]).read()
match = re.search(r"^__version__ = [\x27\"]([^\x27\"]+)[\x27\"]", text, re.M)
print(match.group(1) if match else "")' "$repo/dom0-plugin/csguard/__init__.py")
[[ $version =~ ^[0-9][0-9A-Za-z.+~]*$ ]] \
  || fail "__version__ '$version' in dom0-plugin/csguard/__init__.py is not a valid RPM version (digits, letters, . + ~; no -)"
[[ $release =~ ^[0-9][0-9A-Za-z.]*$ ]] || fail "CSGUARD_RELEASE '$release' is not a valid RPM release"

work=$(mktemp -d "${TMPDIR:-/tmp}/csguard-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/csguard-$version
mkdir -p "$src/lib" "$work/top/SOURCES"

# csguard itself, without bytecode left by test runs
cp -R "$repo/dom0-plugin/csguard" "$src/lib/csguard"
find "$src/lib" -name __pycache__ -prune -exec rm -rf {} +
find "$src/lib" -name '*.py[co]' -delete
"$python" "$repo/rpm/vendor.py" "$repo/rpm/requirements.txt" "$src/lib" \
  || fail "vendoring the dependencies failed (see above)"
mv "$src/lib/licenses" "$src/licenses"
cp "$repo/xapi-hooks/csguard" "$src/xapi-plugin"
cp "$repo/rpm/csguard.yaml" "$repo/rpm/csguard.service" "$src/"

tar -C "$work" -czf "$work/top/SOURCES/csguard-$version.tar.gz" "csguard-$version"
rpmbuild -bb --quiet \
  --define "_topdir $work/top" \
  --define "csguard_version $version" \
  --define "csguard_release $release" \
  "$repo/rpm/csguard.spec" >&2

rpm_file=csguard-$version-$release.noarch.rpm
cp "$work/top/RPMS/noarch/$rpm_file" "$outdir/"
echo "$outdir/$rpm_file"
