"""The command that starts this installation of the agent at login.

Pure functions of the interpreter (``sys.frozen``, ``sys.executable``, the
scripts folders), called on the thread that enables start at login.
"""

import os
import sys
import sysconfig
from pathlib import Path

GUI_SCRIPT_NAME = "trayagent-tray"
# The Windows build has a console twin for the command line. Start at login
# runs the windowed program beside it, which opens no console window.
WINDOWS_CONSOLE_PROGRAM = "trayagent-cli.exe"
WINDOWS_GUI_PROGRAM = "trayagent.exe"


def launch_command(
    *,
    frozen: bool | None = None,
    executable: str | None = None,
    script_dirs: list[Path] | None = None,
    platform: str | None = None,
) -> list[str]:
    """Return the program and arguments that start the agent with its tray.

    A frozen build (PyInstaller) starts its own executable, except that the
    Windows console twin ``trayagent-cli.exe`` names the windowed
    ``trayagent.exe`` beside it, which opens no console. A pip install
    starts the ``trayagent-tray`` gui-script, which opens no console window
    on Windows. Without that script the interpreter runs ``-m trayagent``,
    as ``pythonw.exe`` on Windows when it exists.

    The keyword arguments default to the running interpreter; tests pass
    them to describe another installation.
    """
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    executable = os.path.abspath(executable or sys.executable)
    platform = platform or sys.platform
    if frozen:
        return [_windowed_program(executable, platform)]

    if script_dirs is None:
        script_dirs = default_script_dirs(executable)
    script = find_gui_script(script_dirs, platform)
    if script is not None:
        return [str(script)]
    return [_windowless_python(executable, platform), "-m", "trayagent"]


def default_script_dirs(executable: str) -> list[Path]:
    """Return the folders where pip puts the scripts of this interpreter.

    The interpreter's own folder comes first, then the install scheme's
    scripts folder and the per-user one (``pip install --user``).
    """
    folders = [Path(executable).parent, Path(sysconfig.get_path("scripts"))]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        folders.append(Path(sysconfig.get_path("scripts", user_scheme)))
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def find_gui_script(script_dirs: list[Path], platform: str) -> Path | None:
    """Return the first ``trayagent-tray`` gui-script found, or ``None``."""
    name = GUI_SCRIPT_NAME + (".exe" if platform == "win32" else "")
    for folder in script_dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate.absolute()
    return None


def _windowed_program(executable: str, platform: str) -> str:
    path = Path(executable)
    if platform == "win32" and path.name.casefold() == WINDOWS_CONSOLE_PROGRAM:
        return str(path.with_name(WINDOWS_GUI_PROGRAM))
    return executable


def _windowless_python(executable: str, platform: str) -> str:
    if platform != "win32":
        return executable
    pythonw = Path(executable).with_name("pythonw.exe")
    if pythonw.is_file():
        return str(pythonw)
    return executable
