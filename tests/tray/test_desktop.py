"""Clipboard, file manager and browser helpers."""

import sys

import pytest

from trayagent.tray import desktop
from trayagent.tray.desktop import copy_to_clipboard, find_clipboard_command


def which_from(installed):
    return lambda name: f"/usr/bin/{name}" if name in installed else None


@pytest.mark.parametrize(
    ("platform", "environ", "installed", "expected"),
    [
        ("win32", {}, {"clip"}, ["/usr/bin/clip"]),
        ("darwin", {}, {"pbcopy"}, ["/usr/bin/pbcopy"]),
        (
            "linux",
            {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
            {"wl-copy", "xclip"},
            ["/usr/bin/wl-copy"],
        ),
        (
            "linux",
            {"DISPLAY": ":0"},
            {"wl-copy", "xclip"},
            ["/usr/bin/xclip", "-selection", "clipboard"],
        ),
        (
            "linux",
            {"DISPLAY": ":0"},
            {"xsel"},
            ["/usr/bin/xsel", "--clipboard", "--input"],
        ),
        (
            "linux",
            {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
            {"xsel"},
            ["/usr/bin/xsel", "--clipboard", "--input"],
        ),
        ("linux", {}, {"wl-copy", "xclip", "xsel"}, None),
        ("linux", {"DISPLAY": ":0"}, set(), None),
        ("win32", {}, set(), None),
    ],
)
def test_find_clipboard_command(platform, environ, installed, expected):
    found = find_clipboard_command(platform, environ, which_from(installed))
    assert found == expected


def test_copy_to_clipboard_sends_text(tmp_path):
    target = tmp_path / "clipboard.txt"
    script = f"import sys; open({str(target)!r}, 'wb').write(sys.stdin.buffer.read())"
    assert copy_to_clipboard("ws://127.0.0.1:8765/ws", [sys.executable, "-c", script])
    assert target.read_text() == "ws://127.0.0.1:8765/ws"


def test_copy_to_clipboard_failure_logged(caplog):
    command = [sys.executable, "-c", "raise SystemExit(1)"]
    assert copy_to_clipboard("text", command) is False
    assert "Copying to the clipboard" in caplog.text


def test_copy_to_clipboard_missing_command(tmp_path, caplog):
    assert copy_to_clipboard("text", [str(tmp_path / "no-such-tool")]) is False
    assert "no-such-tool" in caplog.text


def test_open_folder_failure_logged(monkeypatch, caplog):
    monkeypatch.setattr(desktop.sys, "platform", "linux")
    monkeypatch.setenv("PATH", "/nonexistent")
    desktop.open_folder("/tmp")
    assert "Opening the folder /tmp failed" in caplog.text


def test_open_folder_without_path(caplog):
    desktop.open_folder("")
    assert "no path is set" in caplog.text


def test_open_page_without_browser(monkeypatch, caplog):
    monkeypatch.setattr(desktop.webbrowser, "open", lambda url: False)
    desktop.open_page("http://127.0.0.1:8765/")
    assert "No browser could open http://127.0.0.1:8765/" in caplog.text


def test_open_page_uses_default_browser(monkeypatch):
    opened = []
    monkeypatch.setattr(
        desktop.webbrowser, "open", lambda url: opened.append(url) or True
    )
    desktop.open_page("http://127.0.0.1:8765/")
    assert opened == ["http://127.0.0.1:8765/"]
