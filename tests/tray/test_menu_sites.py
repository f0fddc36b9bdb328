"""The menu's web-site entries: waiting sites and allowed sites."""

from trayagent.status import ReaderState
from trayagent.tray.menu import build_menu, invoke_action

from .support import RecordingController, make_status


def menu_for(status):
    return build_menu(status, version="1.2.3", can_copy=True, has_notification=True)


def find(items, text):
    for item in items:
        if item.text == text:
            return item
        found = find(item.submenu, text)
        if found is not None:
            return found
    return None


def test_no_sites_no_entries():
    items = menu_for(make_status(("Reader", ReaderState.EMPTY)))
    assert find(items, "Allowed web sites") is None
    assert not any(item.text.startswith("Site asks") for item in items)


def test_waiting_site_offers_allow_and_block():
    status = make_status(pending_origins=("https://clinic.example",))
    entry = find(menu_for(status), "Site asks for card data: https://clinic.example")
    assert [child.text for child in entry.submenu] == ["Allow always", "Block"]
    assert entry.submenu[0].action == "allow_origin"
    assert entry.submenu[0].args == ("https://clinic.example",)
    assert entry.submenu[1].action == "block_origin"


def test_allowed_sites_can_be_removed():
    status = make_status(allowed_origins=("https://a.example", "https://b.example"))
    allowed = find(menu_for(status), "Allowed web sites")
    assert [child.text for child in allowed.submenu] == [
        "https://a.example",
        "https://b.example",
    ]
    remove = allowed.submenu[1].submenu[0]
    controller = RecordingController()
    invoke_action(remove, controller, {})
    assert controller.calls == [("forget_origin", ("https://b.example",))]


def test_optional_reads_are_checkboxes():
    status = make_status(read_laser_id=True)
    items = menu_for(status)
    laser = find(items, "Read laser ID")
    nhso = find(items, "Read health insurance (NHSO)")
    assert laser.checked is True
    assert laser.args == (False,)
    assert nhso.checked is False
    assert nhso.action == "set_read_nhso"


def test_start_at_login_follows_the_system():
    unknown = find(menu_for(make_status()), "Start at login (not available)")
    assert unknown.enabled is False
    enabled = find(menu_for(make_status(start_at_login=True)), "Start at login")
    assert enabled.checked is True
    assert enabled.args == (False,)
    blocked = make_status(
        start_at_login=False, start_at_login_detail="disabled in Task Manager"
    )
    item = find(menu_for(blocked), "Start at login (disabled in Task Manager)")
    assert item.checked is False
    assert item.action == "set_start_at_login"


def test_simulator_entries_only_when_simulated():
    assert find(menu_for(make_status()), "Insert test card") is None
    status = make_status(
        ("trayagent Simulated Reader", ReaderState.EMPTY),
        simulated=True,
        test_cards=(("jaidee", "Bangkok address"), ("non-thai", "not a Thai card")),
    )
    items = menu_for(status)
    insert = find(items, "Insert test card")
    assert [child.args for child in insert.submenu] == [("jaidee",), ("non-thai",)]
    assert find(items, "Remove test card").enabled is False
