"""The doctor's report: verdicts, the text and JSON forms, and saving it."""

import json
import logging

import pytest

import trayagent.doctor
from trayagent import __version__, cli
from trayagent.doctor import Check, DoctorReport, save_report
from trayagent.doctor.report import failed_check, run_guarded, write_report

OK_CHECK = Check("PC/SC service", "ok", "pcscd is running.")
PROBLEM_CHECK = Check(
    "Readers", "problem", "no card reader is connected.", "Plug in the reader."
)
WARNING_CHECK = Check("Start at login", "warning", "not enabled.", "Enable it.")
INFO_CHECK = Check("Logs", "info", "logs are written to /tmp.", None, {"a": 1})


def test_invalid_verdict_rejected():
    with pytest.raises(ValueError, match="invalid verdict 'fine'"):
        Check("Readers", "fine", "two readers.")


def test_healthy_without_problem():
    report = DoctorReport.from_checks((OK_CHECK, WARNING_CHECK, INFO_CHECK))
    assert report.healthy is True


def test_unhealthy_with_problem():
    report = DoctorReport.from_checks((OK_CHECK, PROBLEM_CHECK))
    assert report.healthy is False


def test_text_verdict_first_fix_indented():
    report = DoctorReport.from_checks((OK_CHECK, PROBLEM_CHECK))
    assert report.to_text().splitlines() == [
        "OK      PC/SC service: pcscd is running.",
        "PROBLEM Readers: no card reader is connected.",
        "        Fix: Plug in the reader.",
        "Result: 1 problem found.",
    ]


def test_text_result_counts_problems_and_warnings():
    report = DoctorReport.from_checks(
        (PROBLEM_CHECK, PROBLEM_CHECK, WARNING_CHECK, INFO_CHECK)
    )
    assert report.to_text().splitlines()[-1] == (
        "Result: 2 problems and 1 warning found."
    )


def test_text_result_when_all_fine():
    report = DoctorReport.from_checks((OK_CHECK, INFO_CHECK))
    assert report.to_text().splitlines()[-1] == "Result: no problems found."


def test_json_document():
    report = DoctorReport.from_checks((OK_CHECK, PROBLEM_CHECK, INFO_CHECK))
    document = json.loads(json.dumps(report.to_json()))
    assert document["tool"] == "trayagent doctor"
    assert document["version"] == __version__
    assert document["healthy"] is False
    assert document["problems"] == 1
    assert document["warnings"] == 0
    assert [check["verdict"] for check in document["checks"]] == [
        "ok",
        "problem",
        "info",
    ]
    assert document["checks"][1]["fix"] == "Plug in the reader."
    assert document["checks"][2]["details"] == {"a": 1}


def test_json_created_has_utc_offset():
    created = DoctorReport.from_checks(()).to_json()["created"]
    assert created[-6] in "+-"


def test_write_report_named_after_time(tmp_path):
    report = DoctorReport.from_checks((OK_CHECK,))
    path = write_report(report, tmp_path / "reports")
    assert path.name == f"doctor-{report.created:%Y%m%d-%H%M%S}.json"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(
        json.dumps(report.to_json())
    )


def test_write_report_leaves_no_temporary_file(tmp_path):
    directory = tmp_path / "reports"
    path = write_report(DoctorReport.from_checks((OK_CHECK,)), directory)
    assert sorted(directory.iterdir()) == [path]


def test_save_report_runs_checks(tmp_path, monkeypatch):
    report = DoctorReport.from_checks((PROBLEM_CHECK,))
    monkeypatch.setattr(trayagent.doctor, "run_checks", lambda: report)
    path = save_report(tmp_path)
    assert json.loads(path.read_text(encoding="utf-8"))["healthy"] is False


def test_run_guarded_turns_exception_into_problem(caplog):
    def broken():
        raise KeyError("detail that stays in the log")

    checks = run_guarded("Readers", broken)
    assert checks == [failed_check("Readers", "KeyError")]
    assert checks[0].verdict == "problem"
    assert "detail that stays" not in checks[0].summary
    assert "detail that stays" in caplog.text


def test_run_guarded_wraps_one_check():
    assert run_guarded("PC/SC service", lambda: OK_CHECK) == [OK_CHECK]


@pytest.fixture
def root_handlers():
    """Remove the handlers a test adds to the root logger."""
    before = list(logging.getLogger().handlers)
    yield
    for handler in logging.getLogger().handlers:
        if handler not in before:
            logging.getLogger().removeHandler(handler)


def test_cli_doctor_prints_traceback_to_stderr(monkeypatch, capsys, root_handlers):
    def broken():
        raise KeyError("detail for the error output")

    monkeypatch.setattr(trayagent.doctor, "pcsc_checks", broken)
    status = cli.main(["doctor"])
    output = capsys.readouterr()
    assert status == 1
    assert "PROBLEM PC/SC: the check failed unexpectedly (KeyError)" in output.out
    assert "prints them to the error output" in output.out
    assert "Traceback" not in output.out
    assert "Traceback" in output.err
    assert "detail for the error output" in output.err
