"""Rendering menu specs to pystray's Menu and MenuItem."""

import pytest

from trayagent.tray.menu import MenuItemSpec
from trayagent.tray.trayicon import render_menu


@pytest.fixture
def pystray(monkeypatch):
    # The dummy backend imports without a display; Menu and MenuItem are the
    # same classes for every backend.
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    import pystray

    return pystray


SPECS = (
    MenuItemSpec("Test Reader 00 00: no card", enabled=False),
    MenuItemSpec("", enabled=False, separator=True),
    MenuItemSpec("Read card automatically", "set_auto_read", (False,), checked=True),
    MenuItemSpec("Include photo", "set_include_photo", (True,), checked=False),
    MenuItemSpec(
        "Read card now",
        submenu=(
            MenuItemSpec("Test Reader 00 00", "read_now", ("Test Reader 00 00",)),
            MenuItemSpec("Test Reader 00 01", "read_now", ("Test Reader 00 01",)),
        ),
    ),
    MenuItemSpec("Quit", action="quit"),
)


def rendered(pystray, clicked):
    return list(render_menu(SPECS, clicked.append).items)


def test_texts(pystray):
    items = rendered(pystray, [])
    assert [item.text for item in items] == [spec.text or "- - - -" for spec in SPECS]


def test_separator(pystray):
    assert rendered(pystray, [])[1] is pystray.Menu.SEPARATOR


def test_enabled(pystray):
    items = rendered(pystray, [])
    assert [item.enabled for item in items] == [False, True, True, True, True, True]


def test_checked(pystray):
    items = rendered(pystray, [])
    assert [item.checked for item in items] == [None, None, True, False, None, None]


def test_click_passes_spec(pystray):
    clicked = []
    quit_item = rendered(pystray, clicked)[-1]
    quit_item(icon=None)
    assert clicked == [SPECS[-1]]


def test_submenu(pystray):
    clicked = []
    read_now = rendered(pystray, clicked)[4]
    entries = list(read_now.submenu.items)
    assert [entry.text for entry in entries] == [
        "Test Reader 00 00",
        "Test Reader 00 01",
    ]
    entries[1](icon=None)
    assert clicked == [SPECS[4].submenu[1]]
