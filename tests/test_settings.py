"""Settings file: defaults, round trip, corrupt files and invalid values."""

import json
import logging

import pytest

from trayagent.settings import DEFAULT_PORT, Settings, load_settings, save_settings


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(tmp_path / "settings.json") == Settings()


def test_round_trip_keeps_unknown_keys(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"auto_read": False, "future_option": [1, 2]}))
    settings = load_settings(path)
    save_settings(path, settings.replace(port=18000))
    saved = json.loads(path.read_text())
    assert saved["auto_read"] is False
    assert saved["port"] == 18000
    assert saved["future_option"] == [1, 2]


def test_save_creates_folder_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "new" / "settings.json"
    save_settings(path, Settings(include_photo=False))
    assert load_settings(path).include_photo is False
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"a string"', b"", b"\x00\xff\xfe", b'{"port": 1'],
    ids=["broken", "list", "string", "empty", "binary", "truncated"],
)
def test_corrupt_file_is_moved_aside(tmp_path, caplog, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert settings == Settings()
    assert not path.exists()
    moved = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(moved) == 1
    assert "moved it to" in caplog.text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("auto_read", "yes"),
        ("include_photo", 1),
        ("port", True),
        ("port", 0),
        ("port", 70000),
        ("port", "17432"),
        ("read_timeout", 0.5),
        ("read_timeout", "10"),
        ("read_timeout", False),
    ],
)
def test_invalid_value_falls_back_to_default(tmp_path, caplog, key, value):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({key: value}))
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert getattr(settings, key) == getattr(Settings(), key)
    assert repr(key) in caplog.text
    assert path.exists()


def test_read_timeout_accepts_whole_and_fractional_seconds(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"read_timeout": 2}')
    assert load_settings(path).read_timeout == 2
    path.write_text('{"read_timeout": 2.5}')
    assert load_settings(path).read_timeout == 2.5


def test_default_port():
    assert Settings().port == DEFAULT_PORT == 17432
