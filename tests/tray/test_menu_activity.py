"""The menu model's tools section: recent activity, the log and diagnostics."""

from trayagent.tray.menu import build_menu

from .support import make_status

ACTIVITY = (
    "14:02:11 Card inserted (Test Reader 00 00)",
    "14:02:12 Card read in 1.4 s (Test Reader 00 00)",
    "14:03:40 Read failed: card removed (Test Reader 00 00)",
)


def menu_for(status):
    return build_menu(status, version="1.2.3", can_copy=True, has_notification=True)


def item(menu, text):
    matches = [entry for entry in menu if entry.text == text]
    assert len(matches) == 1, f"{text!r} not found once in {[e.text for e in menu]}"
    return matches[0]


def test_recent_activity_lists_lines_in_order():
    entry = item(menu_for(make_status(recent_activity=ACTIVITY)), "Recent activity")
    assert [line.text for line in entry.submenu] == list(ACTIVITY)


def test_recent_activity_lines_are_disabled():
    entry = item(menu_for(make_status(recent_activity=ACTIVITY)), "Recent activity")
    assert all(line.enabled is False for line in entry.submenu)
    assert all(line.action is None for line in entry.submenu)


def test_recent_activity_empty_says_so():
    entry = item(menu_for(make_status()), "Recent activity")
    assert [line.text for line in entry.submenu] == ["No activity yet"]
    assert entry.submenu[0].enabled is False


def test_recent_activity_follows_status():
    first = item(menu_for(make_status(recent_activity=ACTIVITY[:1])), "Recent activity")
    later = item(menu_for(make_status(recent_activity=ACTIVITY)), "Recent activity")
    assert len(first.submenu) == 1
    assert len(later.submenu) == len(ACTIVITY)


def test_tools_order():
    texts = [entry.text for entry in menu_for(make_status())]
    start = texts.index("Recent activity")
    assert texts[start : start + 5] == [
        "Recent activity",
        "Open test page",
        "Open current log",
        "Open log folder",
        "Save diagnostics...",
    ]


def test_problem_menu_keeps_log_items():
    menu = menu_for(make_status(problem="Port 8765 is used by another program."))
    texts = [entry.text for entry in menu]
    assert "Open current log" in texts
    assert "Save diagnostics..." in texts
    assert texts[-1] == "Quit"
