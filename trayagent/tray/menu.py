"""The tray menu as plain data, built from an :class:`AgentStatus`.

:func:`build_menu` is pure: the tray rebuilds the menu from each new status on
the thread that repaints the icon, and tests drive it directly. Rendering the
specs to pystray happens in :mod:`trayagent.tray.trayicon`.

The menu is a list of sections separated by lines. Each section is a
function in ``_SECTIONS`` that takes a :class:`MenuContext` and returns its
items. An agent that cannot serve shows only ``_PROBLEM_SECTIONS``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trayagent.status import AgentStatus, ReaderState, ServiceState
from trayagent.tray.controller import CONTROLLER_ACTIONS, TrayController
from trayagent.tray.state import status_lines

PRODUCT_NAME = "trayagent"

# The action the tray handles itself instead of the controller.
SHOW_ABOUT = "show_about"

# Reader states with a card in the slot that "Read card now" may read.
_READABLE_STATES = frozenset(
    {ReaderState.PRESENT, ReaderState.READ, ReaderState.ERROR, ReaderState.MUTE}
)


@dataclass(frozen=True)
class MenuItemSpec:
    """One menu entry.

    :param action: the name of a :class:`TrayController` method, or
        :data:`SHOW_ABOUT`; ``None`` for an item that only shows text.
    :param args: the arguments the action is called with.
    :param checked: ``True`` or ``False`` for a check box, ``None`` otherwise.
    :param submenu: the entries of a submenu; an item with a submenu has no
        action.
    """

    text: str
    action: str | None = None
    args: tuple[object, ...] = ()
    enabled: bool = True
    checked: bool | None = None
    submenu: tuple["MenuItemSpec", ...] = ()
    separator: bool = False


SEPARATOR = MenuItemSpec(text="", enabled=False, separator=True)


@dataclass(frozen=True)
class MenuContext:
    """The inputs from which the menu sections are built.

    :param can_copy: whether a clipboard command exists on this desktop.
    :param has_notification: whether the tray backend shows notifications.
    """

    status: AgentStatus
    version: str
    can_copy: bool
    has_notification: bool


def build_menu(
    status: AgentStatus,
    *,
    version: str,
    can_copy: bool,
    has_notification: bool,
) -> tuple[MenuItemSpec, ...]:
    """Build the menu for ``status``, with a separator between sections."""
    context = MenuContext(status, version, can_copy, has_notification)
    items: list[MenuItemSpec] = []
    # An agent that cannot serve has nothing to offer but the problem, the
    # logs and Quit.
    sections = _PROBLEM_SECTIONS if status.problem else _SECTIONS
    for section in sections:
        section_items = section(context)
        if not section_items:
            continue
        if items:
            items.append(SEPARATOR)
        items.extend(section_items)
    return tuple(items)


def about_message(status: AgentStatus, version: str) -> tuple[str, str]:
    """Return the title and text of the "About" notification."""
    title = f"{PRODUCT_NAME} {version}"
    text = f"Settings: {status.config_dir}\nLogs: {status.log_dir}"
    return title, text


def invoke_action(
    item: MenuItemSpec,
    controller: TrayController,
    tray_actions: Mapping[str, Callable[..., None]],
) -> None:
    """Call the controller method or tray action that ``item`` names.

    :raises ValueError: if the item names no known action.
    """
    if item.action in CONTROLLER_ACTIONS:
        getattr(controller, item.action)(*item.args)
    elif item.action is not None and item.action in tray_actions:
        tray_actions[item.action](*item.args)
    else:
        raise ValueError(
            f"Menu item {item.text!r} has no known action: {item.action!r}"
        )


def _status_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    lines = status_lines(context.status)
    return tuple(MenuItemSpec(line, enabled=False) for line in lines)


def _address_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    ws_url = context.status.ws_url
    if not ws_url:
        return (MenuItemSpec("WebSocket server not running", enabled=False),)
    if context.can_copy:
        return (MenuItemSpec(f"Copy address: {ws_url}", action="copy_ws_url"),)
    # Without a clipboard command the test page shows the address, where it
    # can be selected and copied by hand.
    return (MenuItemSpec(f"Address: {ws_url}", action="open_test_page"),)


def _reading_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    status = context.status
    return (
        MenuItemSpec(
            "Read card automatically",
            action="set_auto_read",
            args=(not status.auto_read,),
            checked=status.auto_read,
        ),
        _read_now_item(status),
        MenuItemSpec(
            "Include photo",
            action="set_include_photo",
            args=(not status.include_photo,),
            checked=status.include_photo,
        ),
        MenuItemSpec(
            "Read laser ID",
            action="set_read_laser_id",
            args=(not status.read_laser_id,),
            checked=status.read_laser_id,
        ),
        MenuItemSpec(
            "Read health insurance (NHSO)",
            action="set_read_nhso",
            args=(not status.read_nhso,),
            checked=status.read_nhso,
        ),
    )


def _startup_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    status = context.status
    if status.start_at_login is None:
        text = "Start at login (not available)"
        return (MenuItemSpec(text, enabled=False, checked=False),)
    text = "Start at login"
    if status.start_at_login_detail and not status.start_at_login:
        text = f"Start at login ({status.start_at_login_detail})"
    return (
        MenuItemSpec(
            text,
            action="set_start_at_login",
            args=(not status.start_at_login,),
            checked=status.start_at_login,
        ),
    )


def _read_now_item(status: AgentStatus) -> MenuItemSpec:
    """Build "Read card now": one reader reads at once, several get a submenu."""
    names = [
        reader.name for reader in status.readers if reader.state in _READABLE_STATES
    ]
    enabled = (
        status.service is ServiceState.AVAILABLE
        and not status.auto_read
        and bool(names)
    )
    if len(names) > 1 and enabled:
        submenu = tuple(
            MenuItemSpec(name, action="read_now", args=(name,)) for name in names
        )
        return MenuItemSpec("Read card now", submenu=submenu)
    reader = names[0] if names else None
    return MenuItemSpec(
        "Read card now", action="read_now", args=(reader,), enabled=enabled
    )


def _simulator_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    """Insert and remove fictional test cards when the reader is simulated."""
    status = context.status
    if not status.simulated:
        return ()
    cards = tuple(
        MenuItemSpec(f"{key}: {description}", action="insert_test_card", args=(key,))
        for key, description in status.test_cards
    )
    card_in = any(reader.state is not ReaderState.EMPTY for reader in status.readers)
    return (
        MenuItemSpec("Insert test card", submenu=cards, enabled=bool(cards)),
        MenuItemSpec("Remove test card", action="remove_test_card", enabled=card_in),
    )


def _sites_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    """Web sites waiting for a decision, and the allowed ones with "Remove"."""
    status = context.status
    items = [
        MenuItemSpec(
            f"Site asks for card data: {origin}",
            submenu=(
                MenuItemSpec("Allow always", action="allow_origin", args=(origin,)),
                MenuItemSpec("Block", action="block_origin", args=(origin,)),
            ),
        )
        for origin in status.pending_origins
    ]
    if status.allowed_origins:
        allowed = tuple(
            MenuItemSpec(
                origin,
                submenu=(
                    MenuItemSpec("Remove", action="forget_origin", args=(origin,)),
                ),
            )
            for origin in status.allowed_origins
        )
        items.append(MenuItemSpec("Allowed web sites", submenu=allowed))
    return tuple(items)


def _activity_item(status: AgentStatus) -> MenuItemSpec:
    lines = status.recent_activity or ("No activity yet",)
    return MenuItemSpec(
        "Recent activity",
        submenu=tuple(MenuItemSpec(line, enabled=False) for line in lines),
    )


def _tools_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    status = context.status
    return (
        _activity_item(status),
        MenuItemSpec(
            "Open test page", action="open_test_page", enabled=bool(status.page_url)
        ),
        MenuItemSpec(
            "Open current log", action="open_current_log", enabled=bool(status.log_dir)
        ),
        MenuItemSpec(
            "Open log folder", action="open_log_folder", enabled=bool(status.log_dir)
        ),
        MenuItemSpec(
            "Save diagnostics...",
            action="save_diagnostics",
            enabled=bool(status.log_dir),
        ),
    )


def _about_section(context: MenuContext) -> tuple[MenuItemSpec, ...]:
    about_text = f"About {PRODUCT_NAME}"
    if context.has_notification:
        about = MenuItemSpec(about_text, action=SHOW_ABOUT)
    else:
        title, text = about_message(context.status, context.version)
        lines = [title, *text.splitlines()]
        about = MenuItemSpec(
            about_text,
            submenu=tuple(MenuItemSpec(line, enabled=False) for line in lines),
        )
    return (about, MenuItemSpec("Quit", action="quit"))


_SECTIONS: tuple[Callable[[MenuContext], tuple[MenuItemSpec, ...]], ...] = (
    _status_section,
    _address_section,
    _reading_section,
    _simulator_section,
    _sites_section,
    _startup_section,
    _tools_section,
    _about_section,
)

_PROBLEM_SECTIONS: tuple[Callable[[MenuContext], tuple[MenuItemSpec, ...]], ...] = (
    _status_section,
    _tools_section,
    _about_section,
)
