"""The ``trayagent`` command line.

Runs on the main thread: parses arguments, sets up logging, loads settings
and starts the agent.
"""

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from . import __version__, paths
from .settings import DEFAULT_PORT, load_settings

if TYPE_CHECKING:
    from .app import Agent

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``trayagent`` command."""
    parser = argparse.ArgumentParser(
        prog="trayagent",
        description=(
            "Read Thai national ID cards from PC/SC readers and serve them to "
            "web apps on this PC over a WebSocket on 127.0.0.1."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"trayagent {__version__}"
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the server and the card monitor without a tray icon",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help=(
            "use a built-in simulated reader with fictional test cards instead "
            "of PC/SC; no reader or pcscd needed"
        ),
    )
    parser.add_argument(
        "--port",
        type=_port,
        help=(
            "TCP port on 127.0.0.1 and ::1 "
            f"(default: the saved setting, else {DEFAULT_PORT})"
        ),
    )
    parser.add_argument(
        "--no-photo",
        action="store_true",
        help="do not read the photo or send card.photo, for this run",
    )
    auto_read = parser.add_mutually_exclusive_group()
    auto_read.add_argument(
        "--auto-read",
        dest="auto_read",
        action="store_true",
        default=None,
        help="read each card as soon as it is inserted, for this run",
    )
    auto_read.add_argument(
        "--no-auto-read",
        dest="auto_read",
        action="store_false",
        help="read a card only when a client asks, for this run",
    )
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands (without one, trayagent runs the agent)",
    )
    autostart = commands.add_parser(
        "autostart", help="start trayagent at login: enable, disable or show it"
    )
    autostart.add_argument("action", choices=("enable", "disable", "status"))
    doctor = commands.add_parser(
        "doctor",
        help="check the PC/SC service, readers, card and agent, and say how to fix",
    )
    doctor.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document for a support ticket",
    )
    origins = commands.add_parser(
        "origins", help="list, allow, block or remove web sites that may read cards"
    )
    origins.add_argument("action", choices=("list", "allow", "block", "remove"))
    origins.add_argument(
        "origin", nargs="?", help="the web site, e.g. https://clinic.example"
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=str.upper,
        default="INFO",
        help="lowest level written to the log (default: INFO)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = build_parser().parse_args(argv)
    if arguments.command == "autostart":
        from . import autostart

        return autostart.main(arguments.action)
    if arguments.command == "doctor":
        from . import doctor
        from .logs import log_to_stderr

        # A check that fails unexpectedly logs its traceback; this puts it
        # on stderr, apart from the report on stdout.
        log_to_stderr("WARNING")
        return doctor.main(arguments.json)
    if arguments.command == "origins":
        from . import origin_command

        return origin_command.main(arguments.action, arguments.origin)
    agent = make_agent(arguments)
    if isinstance(agent, int):
        return agent
    return agent.run()


def make_agent(arguments: argparse.Namespace) -> "Agent | int":
    """Set up logging and settings and build the agent.

    Returns an exit status instead when the agent must not start: 1 when
    the log folder cannot be written, 0 when this user's trayagent already
    runs (asked to show itself), 3 when another program holds the port, or
    0 when staff then chose Quit in the tray that showed that problem.
    """
    from .logs import log_dir_fix, setup_logging

    try:
        log_file = setup_logging(arguments.log_level, paths.log_dir())
    except OSError as error:
        print(
            f"trayagent: cannot write logs to {paths.log_dir()}: {error}. "
            + log_dir_fix(paths.log_dir(), error),
            file=sys.stderr,
        )
        return 1

    settings_file = paths.settings_path()
    saved = load_settings(settings_file)
    settings = saved
    if arguments.port is not None:
        settings = settings.replace(port=arguments.port)
    if arguments.no_photo:
        settings = settings.replace(include_photo=False)
    if arguments.auto_read is not None:
        settings = settings.replace(auto_read=arguments.auto_read)
    logger.info("Logging to %s", log_file)

    from .app import EXIT_OK, EXIT_PORT_IN_USE, Agent, RunOptions
    from .instance import check_instance, record_tray

    conflict = check_instance(paths.config_dir(), settings.port)
    if conflict is not None:
        logger.error("Not starting: %s", conflict.message)
        print(f"trayagent: {conflict.message}", file=sys.stderr)
        # launchd restarts an agent that exits with an error, so a second
        # start of a running agent, and Quit chosen in the tray, exit with 0.
        if conflict.already_running:
            return EXIT_OK
        if not arguments.headless:
            from .app import show_problem

            if show_problem(conflict.message):
                return EXIT_OK
        return EXIT_PORT_IN_USE

    if arguments.headless:
        # Recorded before the server listens, so a second start that finds
        # this agent can tell at once that it shows no tray icon.
        record_tray(False)
    options = RunOptions(headless=arguments.headless, simulate=arguments.simulate)
    return Agent(saved, settings, settings_file, options)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid port {text!r}: not a number"
        ) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: use 1 to 65535")
    return port
