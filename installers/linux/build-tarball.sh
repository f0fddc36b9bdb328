#!/usr/bin/env bash
# Package the Linux one-folder build as a tarball with a desktop file, the
# program icon and an install script.
#
# Usage: installers/linux/build-tarball.sh [DIST_DIR [OUTPUT_DIR]]
#   DIST_DIR    folder with the PyInstaller build trayagent/
#               (default: dist in the repository)
#   OUTPUT_DIR  folder the tarball is written to (default: DIST_DIR)
#
# Prints the path of the tarball, trayagent-VERSION-linux-ARCH.tar.gz.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dist=${1:-$root/dist}
output=${2:-$dist}

fail() {
    echo "build-tarball.sh: $*" >&2
    exit 1
}

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/trayagent/__init__.py")
[ -n "$version" ] || fail "no __version__ in $root/trayagent/__init__.py"

bundle=$dist/trayagent
[ -x "$bundle/trayagent" ] ||
    fail "$bundle/trayagent not found. Build it first: pyinstaller --noconfirm installers/trayagent.spec"

# The program icon: the card-present picture (a card with a chip), 128 px.
icon=$root/icons/card-present-64@2x.png
[ -f "$icon" ] || fail "$icon not found. Generate the icons: python tools/make_icons.py"

name=trayagent-$version-linux-$(uname -m)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir "$stage/$name"
cp -a "$bundle" "$stage/$name/trayagent"
cp "$icon" "$stage/$name/trayagent.png"
cp "$here/trayagent.desktop" "$stage/$name/trayagent.desktop"
install -m 755 "$here/install.sh" "$stage/$name/install.sh"

mkdir -p "$output"
tarball=$(cd "$output" && pwd)/$name.tar.gz
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name -czf "$tarball" "$name"
echo "$tarball"
