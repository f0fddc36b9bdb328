"""Agent statuses and a recording controller shared by the tray tests."""

import dataclasses

from trayagent.status import AgentStatus, ReaderState, ReaderStatus, ServiceState

READER_A = "Test Reader 00 00"
READER_B = "Test Reader 00 01"
WS_URL = "ws://127.0.0.1:8765/ws"
PAGE_URL = "http://127.0.0.1:8765/"


def make_status(*readers: tuple[str, ReaderState], **fields: object) -> AgentStatus:
    """Build an available-service status with the given (name, state) readers."""
    base = AgentStatus(
        service=ServiceState.AVAILABLE,
        readers=tuple(ReaderStatus(name, state) for name, state in readers),
        auto_read=True,
        include_photo=True,
        ws_url=WS_URL,
        page_url=PAGE_URL,
        config_dir="/home/clinic/.config/trayagent",
        log_dir="/home/clinic/.local/state/trayagent/log",
    )
    return dataclasses.replace(base, **fields)


class RecordingController:
    """A TrayController that records each call as (method, args)."""

    version = "1.2.3"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def set_auto_read(self, enabled: bool) -> None:
        self.calls.append(("set_auto_read", (enabled,)))

    def set_include_photo(self, enabled: bool) -> None:
        self.calls.append(("set_include_photo", (enabled,)))

    def set_read_laser_id(self, enabled: bool) -> None:
        self.calls.append(("set_read_laser_id", (enabled,)))

    def set_read_nhso(self, enabled: bool) -> None:
        self.calls.append(("set_read_nhso", (enabled,)))

    def set_start_at_login(self, enabled: bool) -> None:
        self.calls.append(("set_start_at_login", (enabled,)))

    def read_now(self, reader: str | None) -> None:
        self.calls.append(("read_now", (reader,)))

    def open_test_page(self) -> None:
        self.calls.append(("open_test_page", ()))

    def open_log_folder(self) -> None:
        self.calls.append(("open_log_folder", ()))

    def open_current_log(self) -> None:
        self.calls.append(("open_current_log", ()))

    def save_diagnostics(self) -> None:
        self.calls.append(("save_diagnostics", ()))

    def copy_ws_url(self) -> None:
        self.calls.append(("copy_ws_url", ()))

    def insert_test_card(self, card: str) -> None:
        self.calls.append(("insert_test_card", (card,)))

    def remove_test_card(self) -> None:
        self.calls.append(("remove_test_card", ()))

    def allow_origin(self, origin: str) -> None:
        self.calls.append(("allow_origin", (origin,)))

    def block_origin(self, origin: str) -> None:
        self.calls.append(("block_origin", (origin,)))

    def forget_origin(self, origin: str) -> None:
        self.calls.append(("forget_origin", (origin,)))

    def quit(self) -> None:
        self.calls.append(("quit", ()))
