#!/usr/bin/env bash
# Build the csguard RPM: rpm/build.sh [OUTDIR]   (default OUTDIR: build/rpm)
# Prints the path of the .rpm it wrote. Needs rpmbuild, a python3 with pip (PYTHON=...
# to choose it), which downloads the pinned dependencies of rpm/requirements.txt, and
# a Python 3.6 (CSGUARD_PYTHON36=..., else python3.6 on PATH or under pyenv), which
# compiles the bytecode the RPM ships for dom0's Python.
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
            rpm/csguard.service rpm/csguard.spec rpm/requirements.txt rpm/plugin.py LICENSE \
            rpm/bugtool/csguard.xml rpm/bugtool/csguard/stuff.xml rpm/bugtool/redacted-config; do
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

is_python36() { [ -x "$1" ] && [ "$("$1" -I -S -c 'import sys; print(sys.version_info[:2])' 2>/dev/null)" = "(3, 6)" ]; }
python36=${CSGUARD_PYTHON36:-}
if [ -z "$python36" ]; then
  for candidate in "$(command -v python3.6 || true)" \
      "${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"/versions/3.6*/bin/python3.6; do
    if is_python36 "$candidate"; then python36=$candidate; break; fi
  done
fi
is_python36 "$python36" \
  || fail "no Python 3.6 found${python36:+ ($python36 is not one)}: it compiles the bytecode shipped for dom0's Python; set CSGUARD_PYTHON36 or install one (pyenv install 3.6.15)"

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
cp "$repo/LICENSE" "$src/licenses/LICENSE"
"$python" "$repo/rpm/plugin.py" "$repo/xapi-hooks/csguard" --python "/usr/bin/python3 -I" \
  --library /usr/lib/csguard \
  --config /etc/csguard/csguard.yaml --xapi-url unix:///var/lib/xcp/xapi >"$src/xapi-plugin" \
  || fail "writing the host plugin failed (see above)"
cp "$repo/rpm/csguard.yaml" "$repo/rpm/csguard.service" "$src/"
cp -R "$repo/rpm/bugtool" "$src/bugtool"

tar -C "$work" -czf "$work/top/SOURCES/csguard-$version.tar.gz" "csguard-$version"
rpmbuild -bb --quiet \
  --define "_topdir $work/top" \
  --define "csguard_version $version" \
  --define "csguard_release $release" \
  --define "csguard_python36 $python36" \
  "$repo/rpm/csguard.spec" >&2

rpm_file=csguard-$version-$release.noarch.rpm
cp "$work/top/RPMS/noarch/$rpm_file" "$outdir/"
echo "$outdir/$rpm_file"
