"""Write the tray and program icons to ``icons/`` from the drawing code.

Run from the repository root after changing ``trayagent/tray/drawing.py``::

    python tools/make_icons.py [--output DIR]

and commit the files it writes:

- ``<state>-<size>.png`` and ``<state>-<size>@2x.png`` for each tray state
  and for 16, 32 and 64 px (the ``@2x`` file has twice the pixels, for
  high-DPI screens);
- ``trayagent.ico`` (Windows, 16 to 256 px) and ``trayagent.icns`` (macOS,
  32 to 1024 px), the program icon: the card-present picture, a card with
  a chip.

Every size is drawn for its own pixel count, never scaled from another.
"""

import argparse
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
# Running as "python tools/make_icons.py" puts tools/ on sys.path, not the
# repository, so the package would not be found without this.
sys.path.insert(0, str(REPOSITORY))

from trayagent.tray.drawing import draw_icon  # noqa: E402
from trayagent.tray.state import IconState  # noqa: E402

PNG_SIZES = (16, 32, 64)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)
PROGRAM_ICON_STATE = IconState.CARD_PRESENT
PROGRAM_ICON_NAME = "trayagent"


def png_names() -> list[tuple[str, IconState, int]]:
    """List each PNG as (file name, state, pixel size)."""
    names = []
    for state in IconState:
        for size in PNG_SIZES:
            names.append((f"{state.value}-{size}.png", state, size))
            names.append((f"{state.value}-{size}@2x.png", state, 2 * size))
    return names


def write_icons(directory: Path) -> list[Path]:
    """Write every icon file into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, state, size in png_names():
        path = directory / name
        draw_icon(state, size).save(path, "PNG", optimize=True)
        written.append(path)
    written.append(_write_ico(directory / f"{PROGRAM_ICON_NAME}.ico"))
    written.append(_write_icns(directory / f"{PROGRAM_ICON_NAME}.icns"))
    return written


def _write_ico(path: Path) -> Path:
    largest, *others = [
        draw_icon(PROGRAM_ICON_STATE, size) for size in reversed(ICO_SIZES)
    ]
    largest.save(
        path,
        "ICO",
        sizes=[(size, size) for size in ICO_SIZES],
        append_images=others,
    )
    return path


def _write_icns(path: Path) -> Path:
    largest, *others = [
        draw_icon(PROGRAM_ICON_STATE, size) for size in reversed(ICNS_SIZES)
    ]
    largest.save(path, "ICNS", append_images=others)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=REPOSITORY / "icons",
        help="folder to write the icons to (default: icons/ in the repository)",
    )
    arguments = parser.parse_args(argv)
    for path in write_icons(arguments.output):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
