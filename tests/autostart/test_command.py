"""The command that start at login runs, for frozen, pip and plain installs."""

from pathlib import Path

from trayagent.autostart.command import default_script_dirs, launch_command


def make_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_frozen_build_starts_itself(tmp_path):
    executable = make_file(tmp_path / "dist" / "trayagent" / "trayagent")
    command = launch_command(frozen=True, executable=str(executable), platform="linux")
    assert command == [str(executable)]


def test_pip_install_starts_gui_script(tmp_path):
    python = make_file(tmp_path / "venv" / "bin" / "python")
    script = make_file(tmp_path / "venv" / "bin" / "trayagent-tray")
    command = launch_command(frozen=False, executable=str(python), platform="linux")
    assert command == [str(script)]


def test_gui_script_found_in_user_scripts_folder(tmp_path):
    python = make_file(tmp_path / "usr" / "bin" / "python3")
    script = make_file(tmp_path / "home" / ".local" / "bin" / "trayagent-tray")
    command = launch_command(
        frozen=False,
        executable=str(python),
        script_dirs=[python.parent, script.parent],
        platform="linux",
    )
    assert command == [str(script)]


def test_windows_gui_script_has_exe_suffix(tmp_path):
    python = make_file(tmp_path / "Python311" / "python.exe")
    make_file(tmp_path / "Python311" / "Scripts" / "trayagent-tray")
    script = make_file(tmp_path / "Python311" / "Scripts" / "trayagent-tray.exe")
    command = launch_command(
        frozen=False,
        executable=str(python),
        script_dirs=[script.parent],
        platform="win32",
    )
    assert command == [str(script)]


def test_windows_without_script_uses_pythonw(tmp_path):
    python = make_file(tmp_path / "Python311" / "python.exe")
    pythonw = make_file(tmp_path / "Python311" / "pythonw.exe")
    command = launch_command(
        frozen=False, executable=str(python), script_dirs=[], platform="win32"
    )
    assert command == [str(pythonw), "-m", "trayagent"]


def test_windows_without_pythonw_uses_python(tmp_path):
    python = make_file(tmp_path / "Python311" / "python.exe")
    command = launch_command(
        frozen=False, executable=str(python), script_dirs=[], platform="win32"
    )
    assert command == [str(python), "-m", "trayagent"]


def test_posix_without_script_runs_module(tmp_path):
    python = make_file(tmp_path / "bin" / "python3")
    command = launch_command(
        frozen=False, executable=str(python), script_dirs=[], platform="darwin"
    )
    assert command == [str(python), "-m", "trayagent"]


def test_script_folders_start_with_interpreter_folder(tmp_path):
    python = tmp_path / "venv" / "bin" / "python"
    folders = default_script_dirs(str(python))
    assert folders[0] == python.parent
    assert len(folders) == len(set(folders))


def test_running_interpreter_gives_absolute_program():
    program = Path(launch_command()[0])
    assert program.is_absolute()
    assert program.exists()


def test_windows_console_twin_starts_windowed_program(tmp_path):
    folder = tmp_path / "Programs" / "trayagent"
    console = make_file(folder / "trayagent-cli.exe")
    command = launch_command(frozen=True, executable=str(console), platform="win32")
    assert command == [str(folder / "trayagent.exe")]


def test_windows_windowed_program_starts_itself(tmp_path):
    program = make_file(tmp_path / "Programs" / "trayagent" / "trayagent.exe")
    command = launch_command(frozen=True, executable=str(program), platform="win32")
    assert command == [str(program)]


def test_console_twin_name_matches_any_case(tmp_path):
    folder = tmp_path / "Programs" / "trayagent"
    console = make_file(folder / "TrayAgent-CLI.EXE")
    command = launch_command(frozen=True, executable=str(console), platform="win32")
    assert command == [str(folder / "trayagent.exe")]
