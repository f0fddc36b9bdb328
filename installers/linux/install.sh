#!/bin/sh
# Install trayagent for the current user from this folder, or remove it.
#
# Usage: ./install.sh              install, or upgrade an earlier install
#        ./install.sh --uninstall  remove the program; settings and logs stay
#
# The program goes to ~/.local/lib/trayagent with a link in ~/.local/bin;
# the menu entry and the icon go under ${XDG_DATA_HOME:-~/.local/share}.
# No root rights are needed. Settings (~/.config/trayagent) and the start
# at login choice (~/.config/autostart/trayagent.desktop) are kept across
# upgrades.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

absolute_or() {
    case ${1:-} in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$2" ;;
    esac
}

data_home=$(absolute_or "${XDG_DATA_HOME:-}" "$HOME/.local/share")
config_home=$(absolute_or "${XDG_CONFIG_HOME:-}" "$HOME/.config")
lib=$HOME/.local/lib/trayagent
bin=$HOME/.local/bin
program=$lib/trayagent
menu_file=$data_home/applications/trayagent.desktop
icon_file=$data_home/icons/hicolor/128x128/apps/trayagent.png
autostart_file=$config_home/autostart/trayagent.desktop

# Quote a path for a desktop file's Exec key (Desktop Entry Specification
# 1.5): inside double quotes, backslash, quote, backtick and dollar take a
# backslash, every backslash is then doubled by the string escaping, and a
# percent sign is written twice.
exec_quote() {
    printf '%s' "$1" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g' \
        -e 's/^/"/' -e 's/$/"/'
}

install_agent() {
    [ -x "$here/trayagent/trayagent" ] || {
        echo "install.sh: $here/trayagent/trayagent not found; run it from the unpacked tarball" >&2
        exit 1
    }
    mkdir -p "$(dirname "$lib")" "$bin" "$(dirname "$menu_file")" "$(dirname "$icon_file")"
    # Copy beside the old version, then swap, so a failed copy leaves the
    # old one working. A running agent keeps its open files until it quits.
    rm -rf "$lib.new"
    cp -a "$here/trayagent" "$lib.new"
    rm -rf "$lib"
    mv "$lib.new" "$lib"
    ln -sfn "$program" "$bin/trayagent"
    cp "$here/trayagent.png" "$icon_file"
    sed -e "s|^Exec=.*|Exec=$(exec_quote "$program" | sed 's/[|&\\]/\\&/g')|" \
        "$here/trayagent.desktop" >"$menu_file"
    echo "trayagent installed in $lib."
    echo "Start it from the applications menu, or run: $bin/trayagent"
}

uninstall_agent() {
    rm -rf "$lib" "$lib.new"
    rm -f "$bin/trayagent" "$menu_file" "$icon_file" "$autostart_file"
    echo "trayagent removed. Settings stay in $config_home/trayagent and logs in" \
        "${XDG_STATE_HOME:-$HOME/.local/state}/trayagent; delete them by hand if no longer needed."
}

case ${1:-} in
    "") install_agent ;;
    --uninstall) uninstall_agent ;;
    *)
        echo "usage: $0 [--uninstall]" >&2
        exit 2
        ;;
esac
