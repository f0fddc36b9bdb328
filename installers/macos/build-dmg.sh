#!/usr/bin/env bash
# Build trayagent-VERSION.dmg, and with --pkg also trayagent-VERSION.pkg,
# from the app that PyInstaller built.
#
# Usage, on macOS from the repository root:
#     pyinstaller --noconfirm installers/trayagent.spec
#     installers/macos/build-dmg.sh [--pkg]
#
# Environment:
#   DIST_DIR            folder with trayagent.app, and where the images go
#                       (default: dist in the repository)
#   CODESIGN_IDENTITY   "Developer ID Application: NAME (TEAM)". The app must
#                       have been built with the same variable set, so that
#                       PyInstaller signed every binary with the hardened
#                       runtime; this script checks that and signs the dmg.
#   INSTALLER_IDENTITY  "Developer ID Installer: NAME (TEAM)": signs the pkg.
#   NOTARY_PROFILE      a keychain profile stored with
#                       "xcrun notarytool store-credentials"; when set, the
#                       dmg and the pkg are notarised and the ticket stapled.
# Without them the images are unsigned, fine for testing on the build Mac
# but blocked by Gatekeeper elsewhere.
#
# NOTE: the test suite runs on Linux and only checks this script's syntax;
# run it on a Mac before relying on a change.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dist=${DIST_DIR:-$root/dist}
bundle_identifier=th.trayagent

fail() {
    echo "build-dmg.sh: $*" >&2
    exit 1
}

want_pkg=false
case ${1:-} in
    "") ;;
    --pkg) want_pkg=true ;;
    *) fail "unknown option $1; usage: build-dmg.sh [--pkg]" ;;
esac

[ "$(uname -s)" = Darwin ] || fail "needs macOS (hdiutil, codesign, pkgbuild); this is $(uname -s)"

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/trayagent/__init__.py")
[ -n "$version" ] || fail "no __version__ in $root/trayagent/__init__.py"

app=$dist/trayagent.app
[ -d "$app" ] || fail "$app not found. Build it first: pyinstaller --noconfirm installers/trayagent.spec"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check_app_signature() {
    codesign --verify --deep --strict "$app" ||
        fail "the signature of $app is invalid; rebuild it"
    if [ -n "${CODESIGN_IDENTITY:-}" ]; then
        codesign --display --verbose=2 "$app" 2>&1 | grep -qF "Authority=$CODESIGN_IDENTITY" ||
            fail "$app is not signed by $CODESIGN_IDENTITY. Rebuild it with CODESIGN_IDENTITY set."
    fi
}

notarise() {
    local file=$1
    [ -n "${NOTARY_PROFILE:-}" ] || return 0
    xcrun notarytool submit "$file" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$file"
}

build_dmg() {
    local dmg=$dist/trayagent-$version.dmg
    local stage=$work/dmg
    mkdir "$stage"
    cp -R "$app" "$stage/"
    ln -s /Applications "$stage/Applications"
    hdiutil create -volname "trayagent $version" -srcfolder "$stage" \
        -fs HFS+ -format UDZO -ov "$dmg"
    if [ -n "${CODESIGN_IDENTITY:-}" ]; then
        codesign --sign "$CODESIGN_IDENTITY" --timestamp "$dmg"
    fi
    notarise "$dmg"
    echo "$dmg"
}

build_pkg() {
    local pkg=$dist/trayagent-$version.pkg
    local payload=$work/pkg-root
    mkdir "$payload"
    cp -R "$app" "$payload/"
    # Install exactly into /Applications: a relocatable bundle would be
    # updated wherever macOS finds another copy, such as a test build.
    pkgbuild --analyze --root "$payload" "$work/components.plist"
    plutil -replace 0.BundleIsRelocatable -bool NO "$work/components.plist"
    pkgbuild --root "$payload" --component-plist "$work/components.plist" \
        --identifier "$bundle_identifier.pkg" --version "$version" \
        --install-location /Applications "$work/trayagent-component.pkg"
    local signing=()
    if [ -n "${INSTALLER_IDENTITY:-}" ]; then
        signing=(--sign "$INSTALLER_IDENTITY" --timestamp)
    fi
    # macOS ships bash 3.2, where "${signing[@]}" of an empty array under
    # "set -u" is an unbound variable.
    productbuild --package "$work/trayagent-component.pkg" \
        ${signing[@]+"${signing[@]}"} "$pkg"
    notarise "$pkg"
    echo "$pkg"
}

check_app_signature
build_dmg
if "$want_pkg"; then
    build_pkg
fi
