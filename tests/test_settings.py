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


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("port", -1, "'port' is -1, but it must be a whole number from 1 to 65535"),
        ("port", 0, "'port' is 0, but it must be a whole number from 1 to 65535"),
        ("port", 70000, "'port' is 70000, but it must be a whole number from 1 to"),
        ("port", True, "'port' is true, but it must be a whole number from 1 to"),
        ("port", 18126.5, "'port' is 18126.5, but it must be a whole number"),
        ("port", "17432", "'port' is the string \"17432\", but it must be"),
        (
            "read_timeout",
            0,
            "'read_timeout' is 0, but it must be a number of seconds from 1 to 60",
        ),
        ("read_timeout", 1000, "'read_timeout' is 1000, but it must be a number of"),
        ("read_timeout", -5, "'read_timeout' is -5, but it must be a number of"),
        ("auto_read", "yes", "'auto_read' is the string \"yes\", but it must be true"),
        ("include_photo", None, "'include_photo' is null, but it must be true or"),
        ("compat_pythaiidcard_port", [1], "'compat_pythaiidcard_port' is a list,"),
    ],
)
def test_invalid_value_warning_names_range(tmp_path, caplog, key, value, expected):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({key: value}))
    with caplog.at_level(logging.WARNING):
        load_settings(path)
    default = json.dumps(getattr(Settings(), key))
    assert expected in caplog.text
    assert caplog.text.rstrip().endswith(f"; using the default {default}")


def test_long_string_value_is_cut_in_warning(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"port": "9" * 100}))
    with caplog.at_level(logging.WARNING):
        load_settings(path)
    assert f'the string "{"9" * 40}"...' in caplog.text
    assert "9" * 41 not in caplog.text


def test_origin_list_of_wrong_type_not_echoed(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"allowed_origins": "https://clinic.example"}))
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert settings.allowed_origins == ()
    assert "'allowed_origins' is a string, but it must be a list" in caplog.text
    assert "clinic.example" not in caplog.text.replace('["https://clinic.example"]', "")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("https://*.clinic.example", "wildcards are not supported"),
        ("https://clinic.example:99999", "port 99999 is out of range 1-65535"),
        ("ftp://clinic.example", "not an http or https origin"),
        ("http://localhost:18150", "pages on this PC are always allowed"),
        (7, "7 in 'blocked_origins' is ignored: it is not a string"),
    ],
)
def test_unusable_origin_entry_named(tmp_path, caplog, entry, reason):
    path = tmp_path / "settings.json"
    listed = ["https://clinic.example", entry]
    path.write_text(json.dumps({"blocked_origins": listed}))
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert settings.blocked_origins == ("https://clinic.example",)
    assert reason in caplog.text
    assert "'https://clinic.example'" not in caplog.text


def test_byte_order_mark_is_accepted(tmp_path, caplog):
    # Windows Notepad starts a UTF-8 file with EF BB BF when it saves it.
    path = tmp_path / "settings.json"
    text = json.dumps({"port": 18150, "allowed_origins": ["https://clinic.example"]})
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert settings.allowed_origins == ("https://clinic.example",)
    assert settings.port == 18150
    assert caplog.text == ""
    assert path.exists()
    assert list(tmp_path.glob("settings.json.corrupt-*")) == []


def test_read_timeout_accepts_whole_and_fractional_seconds(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"read_timeout": 2}')
    assert load_settings(path).read_timeout == 2
    path.write_text('{"read_timeout": 2.5}')
    assert load_settings(path).read_timeout == 2.5


def test_default_port():
    assert Settings().port == DEFAULT_PORT == 17432
