"""The menu model: items, texts, states and the actions they call."""

import dataclasses

import pytest

from trayagent.status import ReaderState, ServiceState
from trayagent.tray.controller import CONTROLLER_ACTIONS
from trayagent.tray.menu import (
    SEPARATOR,
    SHOW_ABOUT,
    MenuItemSpec,
    about_message,
    build_menu,
    invoke_action,
)

from .support import READER_A, READER_B, WS_URL, make_status


def menu_for(status, *, can_copy=True, has_notification=True):
    return build_menu(
        status, version="1.2.3", can_copy=can_copy, has_notification=has_notification
    )


def item(menu, text):
    matches = [entry for entry in menu if entry.text == text]
    assert len(matches) == 1, f"{text!r} not found once in {[e.text for e in menu]}"
    return matches[0]


def walk(menu):
    for entry in menu:
        yield entry
        yield from walk(entry.submenu)


def test_service_down_line_first():
    menu = menu_for(make_status(service=ServiceState.UNAVAILABLE))
    assert menu[0] == MenuItemSpec("PC/SC service not running", enabled=False)


def test_reader_lines_disabled():
    status = make_status((READER_A, ReaderState.EMPTY), (READER_B, ReaderState.READ))
    menu = menu_for(status)
    assert menu[:2] == (
        MenuItemSpec("Test Reader 00 00: no card", enabled=False),
        MenuItemSpec("Test Reader 00 01: card read", enabled=False),
    )


def test_no_reader_line():
    assert menu_for(make_status())[0] == MenuItemSpec("No card reader", enabled=False)


def test_address_copies_when_clipboard():
    entry = item(menu_for(make_status()), f"Copy address: {WS_URL}")
    assert entry.action == "copy_ws_url"


def test_address_opens_test_page_without_clipboard():
    entry = item(menu_for(make_status(), can_copy=False), f"Address: {WS_URL}")
    assert entry.action == "open_test_page"


def test_address_missing_when_server_down():
    entry = item(menu_for(make_status(ws_url="")), "WebSocket server not running")
    assert entry.enabled is False


@pytest.mark.parametrize("auto_read", [True, False])
def test_auto_read_checkbox(auto_read):
    entry = item(menu_for(make_status(auto_read=auto_read)), "Read card automatically")
    assert entry.checked is auto_read
    assert entry.action == "set_auto_read"
    assert entry.args == (not auto_read,)


@pytest.mark.parametrize("include_photo", [True, False])
def test_include_photo_checkbox(include_photo):
    status = make_status(include_photo=include_photo)
    entry = item(menu_for(status), "Include photo")
    assert entry.checked is include_photo
    assert entry.action == "set_include_photo"
    assert entry.args == (not include_photo,)


@pytest.mark.parametrize(
    ("reader_state", "auto_read", "enabled"),
    [
        (ReaderState.PRESENT, False, True),
        (ReaderState.READ, False, True),
        (ReaderState.ERROR, False, True),
        (ReaderState.MUTE, False, True),
        (ReaderState.PRESENT, True, False),
        (ReaderState.EMPTY, False, False),
        (ReaderState.READING, False, False),
    ],
)
def test_read_now_enabled(reader_state, auto_read, enabled):
    status = make_status((READER_A, reader_state), auto_read=auto_read)
    entry = item(menu_for(status), "Read card now")
    assert entry.enabled is enabled
    assert entry.checked is None


def test_read_now_names_reader_with_card():
    status = make_status(
        (READER_A, ReaderState.EMPTY), (READER_B, ReaderState.PRESENT), auto_read=False
    )
    entry = item(menu_for(status), "Read card now")
    assert entry.action == "read_now"
    assert entry.args == (READER_B,)


def test_read_now_submenu_for_two_cards():
    status = make_status(
        (READER_A, ReaderState.PRESENT), (READER_B, ReaderState.READ), auto_read=False
    )
    entry = item(menu_for(status), "Read card now")
    assert entry.action is None
    assert entry.submenu == (
        MenuItemSpec(READER_A, action="read_now", args=(READER_A,)),
        MenuItemSpec(READER_B, action="read_now", args=(READER_B,)),
    )


def test_read_now_disabled_without_service():
    status = make_status(
        (READER_A, ReaderState.PRESENT),
        auto_read=False,
        service=ServiceState.UNAVAILABLE,
    )
    assert item(menu_for(status), "Read card now").enabled is False


def test_read_now_without_reader():
    entry = item(menu_for(make_status(auto_read=False)), "Read card now")
    assert entry.enabled is False
    assert entry.args == (None,)


@pytest.mark.parametrize(
    ("text", "field", "action"),
    [
        ("Open test page", "page_url", "open_test_page"),
        ("Open log folder", "log_dir", "open_log_folder"),
        ("Open current log", "log_dir", "open_current_log"),
        ("Save diagnostics...", "log_dir", "save_diagnostics"),
    ],
)
def test_open_items(text, field, action):
    assert item(menu_for(make_status()), text).action == action
    assert item(menu_for(make_status()), text).enabled is True
    assert item(menu_for(make_status(**{field: ""})), text).enabled is False


def test_about_as_notification():
    entry = item(menu_for(make_status()), "About trayagent")
    assert entry.action == SHOW_ABOUT
    assert entry.submenu == ()


def test_about_as_disabled_lines():
    status = make_status()
    entry = item(menu_for(status, has_notification=False), "About trayagent")
    assert entry.action is None
    assert entry.submenu == (
        MenuItemSpec("trayagent 1.2.3", enabled=False),
        MenuItemSpec(f"Settings: {status.config_dir}", enabled=False),
        MenuItemSpec(f"Logs: {status.log_dir}", enabled=False),
    )


def test_about_message():
    status = make_status()
    title, text = about_message(status, "1.2.3")
    assert title == "trayagent 1.2.3"
    assert text == f"Settings: {status.config_dir}\nLogs: {status.log_dir}"


def test_quit_last():
    assert menu_for(make_status())[-1] == MenuItemSpec("Quit", action="quit")


def test_separators_between_sections_only():
    menu = menu_for(make_status((READER_A, ReaderState.EMPTY)))
    positions = [index for index, entry in enumerate(menu) if entry is SEPARATOR]
    # status | address | reading (5 items) | start at login | tools | about
    assert positions == [1, 3, 9, 11, 17]


ALL_STATUSES = [
    make_status(),
    make_status(service=ServiceState.UNAVAILABLE),
    make_status((READER_A, ReaderState.PRESENT), auto_read=False),
    make_status(
        (READER_A, ReaderState.PRESENT), (READER_B, ReaderState.ERROR), auto_read=False
    ),
    make_status((READER_A, ReaderState.READING), ws_url="", page_url=""),
]


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("has_notification", [True, False])
def test_actions_known(status, has_notification):
    known = CONTROLLER_ACTIONS | {SHOW_ABOUT, None}
    for entry in walk(menu_for(status, has_notification=has_notification)):
        assert entry.action in known, entry


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_actions_call_named_method(status, controller):
    for entry in walk(menu_for(status)):
        if entry.action is None or entry.action == SHOW_ABOUT:
            continue
        controller.calls.clear()
        invoke_action(entry, controller, {})
        assert controller.calls == [(entry.action, entry.args)]


def test_invoke_tray_action(controller):
    shown = []
    entry = item(menu_for(make_status()), "About trayagent")
    invoke_action(entry, controller, {SHOW_ABOUT: lambda: shown.append(True)})
    assert shown == [True]
    assert controller.calls == []


def test_invoke_unknown_action(controller):
    with pytest.raises(ValueError, match="no known action"):
        invoke_action(MenuItemSpec("Dance", action="dance"), controller, {})


def test_menu_is_pure():
    status = make_status((READER_A, ReaderState.PRESENT))
    assert menu_for(status) == menu_for(dataclasses.replace(status))
