"""The `leadflow` command line, run in-process with Typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from leadflow import __version__
from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.entrypoints.cli import app
from leadflow.entrypoints.reporting import PROGRESS_MIN_BYTES, ConsoleReporter
from leadflow.samples import SAMPLE_FILES, sample_path

AS_OF = "2026-03-06T12:00:00+00:00"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    folder = tmp_path / "sample"
    folder.mkdir()
    for name in SAMPLE_FILES:
        (folder / name).write_bytes(sample_path(name).read_bytes())
    return folder


def _qualify(runner: CliRunner, *args: str | Path) -> Any:
    base = ["qualify", "--playbook", "specialty-clinic", "--as-of", AS_OF]
    return runner.invoke(app, [*base, *(str(a) for a in args)])


def _decisions(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _sample_lead_ids(samples: Path) -> list[str]:
    with (samples / "leads.csv").open(encoding="utf-8") as handle:
        return [row["lead_id"] for row in csv.DictReader(handle)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- qualify ----------------------------------------------------------------------------


def test_qualify_writes_one_decision_per_lead_in_input_order(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "decisions.jsonl"
    result = _qualify(
        runner, "--leads", samples / "leads.csv", "--events", samples / "events.csv", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    decisions = _decisions(out.read_text(encoding="utf-8"))
    assert [d["lead_id"] for d in decisions] == _sample_lead_ids(samples)
    assert all(len(line) == len(line.strip()) for line in out.read_text().splitlines())
    assert decisions[0]["playbook"]["id"] == "specialty-clinic"
    assert "qualified 13 leads (" in result.stderr
    assert "0 rows rejected" in result.stderr


def test_the_samples_tell_the_stories_they_were_written_for(
    runner: CliRunner, samples: Path
) -> None:
    result = _qualify(runner, "--leads", samples / "leads.csv", "--events", samples / "events.csv")
    stages = {d["lead_id"]: (d["stage"], d["status"]) for d in _decisions(result.stdout)}
    assert stages["NW-1001"] == ("mql", "New MQL")  # caregiver: form, guide, scheduling page
    assert stages["NW-1002"][0] == "nurture"  # only reads the blog
    assert stages["NW-1003"][0] == "sql"  # accepted, intake confirmed, appointment agreed
    assert stages["NW-1004"] == ("nurture", "Recycled from sales")
    assert stages["NW-1006"][0] == "won"
    assert stages["NW-1007"] == ("disqualified", "Disqualified – out_of_coverage_area")
    assert stages["NW-1008"] == ("disqualified", "Disqualified – no_valid_contact_no_consent")
    assert "leads.csv row 8 (NW-1008): field `phone`" in result.stderr


def test_bad_rows_are_reported_by_row_and_field_and_good_rows_still_decided(
    runner: CliRunner, tmp_path: Path
) -> None:
    leads = _write(
        tmp_path / "leads.csv",
        "lead_id,state,created_at,consent_email\n"
        "L-1,MA,2026-03-01,yes\nL-2,MA,last week,yes\nL-3,NH,2026-03-01,sure\nL-4,RI,,no\n",
    )
    events = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at\n"
        "E-1,L-1,form_submited,2026-03-02\nE-2,L-4,form_submitted,2026-03-02\n",
    )
    result = _qualify(runner, "--leads", leads, "--events", events)
    assert result.exit_code == 1
    assert [d["lead_id"] for d in _decisions(result.stdout)] == ["L-1", "L-4"]
    lines = result.stderr.splitlines()
    assert (
        "events.csv row 1 (E-1): field `type`: unknown event type `form_submited`; "
        "did you mean `form_submitted`?"
    ) in lines
    assert any(line.startswith("leads.csv row 2 (L-2): field `created_at`:") for line in lines)
    assert any(line.startswith("leads.csv row 3 (L-3): field `consent_email`:") for line in lines)
    assert lines[-1] == "qualified 2 leads (new 1, disqualified 1); 3 rows rejected"


def test_rejects_file_holds_every_problem_as_json_lines(runner: CliRunner, tmp_path: Path) -> None:
    leads = _write(
        tmp_path / "leads.csv",
        "lead_id,email,created_at\nL-1,bad-address,\nL-2,,never\nL-3,,\n",
    )
    events = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at\nE-1,L-9,chat_started,2026-03-02\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _qualify(runner, "--leads", leads, "--events", events, "--rejects", rejects)
    assert result.exit_code == 1
    records = _decisions(rejects.read_text(encoding="utf-8"))
    assert records == [
        {
            "source": "leads.csv",
            "row": 1,
            "record_id": "L-1",
            "field": "email",
            "severity": "warning",
            "message": "not a valid email address; kept the row without it",
        },
        {
            "source": "leads.csv",
            "row": 2,
            "record_id": "L-2",
            "field": "created_at",
            "severity": "error",
            "message": "expected an ISO-8601 date-time (e.g. 2026-03-02T14:30:00Z)",
        },
        {
            "source": "events.csv",
            "row": None,
            "record_id": "E-1",
            "field": "lead_id",
            "severity": "warning",
            "message": "lead `L-9` is not among the qualified leads",
        },
    ]


def test_error_output_never_shows_contact_values(runner: CliRunner, tmp_path: Path) -> None:
    secrets = ["Philippa", "Quartermaine", "pq@@example.com", "555-0123", "call after 6pm"]
    leads = _write(
        tmp_path / "leads.csv",
        "lead_id,first_name,last_name,email,phone,notes,created_at,consent_sms\n"
        + ",".join(["L-1", *secrets, "whenever", "dunno"])
        + "\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _qualify(runner, "--leads", leads, "--rejects", rejects)
    assert result.exit_code == 1
    assert "L-1" in result.stderr
    for secret in secrets:
        assert secret not in result.stderr
        assert secret not in rejects.read_text(encoding="utf-8")


def test_events_for_unknown_leads_are_reported_on_stderr(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    leads = _write(tmp_path / "leads.csv", "lead_id,state\nNW-1001,MA\n")
    result = _qualify(runner, "--leads", leads, "--events", samples / "events.csv")
    assert result.exit_code == 0
    assert "warning: events.csv: 44 events for 11 lead ids not among the qualified leads" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("as_of", "same_as"),
    [
        ("2026-03-06", "2026-03-06T00:00:00Z"),
        ("2026-03-06T12:00:00", "2026-03-06T12:00:00Z"),
        ("2026-03-06T07:00:00-05:00", "2026-03-06T12:00:00Z"),
    ],
)
def test_as_of_takes_dates_naive_times_as_utc_and_offsets(
    runner: CliRunner, samples: Path, as_of: str, same_as: str
) -> None:
    files = ["--leads", str(samples / "leads.csv"), "--events", str(samples / "events.csv")]
    base = ["qualify", "--playbook", "specialty-clinic", *files]
    first = runner.invoke(app, [*base, "--as-of", as_of])
    second = runner.invoke(app, [*base, "--as-of", same_as])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_as_of_changes_the_decisions(runner: CliRunner, samples: Path) -> None:
    files = ["--leads", str(samples / "leads.csv"), "--events", str(samples / "events.csv")]
    before = _qualify(runner, *files)
    after = runner.invoke(
        app, ["qualify", "--playbook", "specialty-clinic", *files, "--as-of", "2026-02-01"]
    )
    assert before.stdout != after.stdout
    assert {d["stage"] for d in _decisions(after.stdout)} == {"new", "disqualified"}


def test_an_invalid_as_of_is_a_usage_error(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(
        app,
        [
            *("qualify", "--playbook", "specialty-clinic"),
            *("--leads", str(samples / "leads.csv"), "--as-of", "next friday"),
        ],
    )
    assert result.exit_code == 2
    assert "--as-of" in result.stderr


def test_json_lines_inputs_give_the_same_decisions_as_csv(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    for name in SAMPLE_FILES:
        with (samples / name).open(encoding="utf-8") as handle:
            rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(handle)]
        stem = name.removesuffix(".csv")
        _write(tmp_path / f"{stem}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    from_csv = _qualify(
        runner, "--leads", samples / "leads.csv", "--events", samples / "events.csv"
    )
    from_jsonl = _qualify(
        runner, "--leads", tmp_path / "leads.jsonl", "--events", tmp_path / "events.jsonl"
    )
    assert from_jsonl.exit_code == 0, from_jsonl.stderr
    assert from_jsonl.stdout == from_csv.stdout


def test_a_column_mapping_lets_a_crm_export_be_qualified(runner: CliRunner, tmp_path: Path) -> None:
    leads = _write(
        tmp_path / "export.csv",
        "Record ID,Service Line,State/Region,Email Address,Email Opt-In\n"
        "C-1,cardiology,MA,ada@example.com,Yes\n",
    )
    mapping = _write(
        tmp_path / "mapping.yaml",
        "leads:\n  Record ID: lead_id\n  Service Line: service_line\n"
        "  State/Region: state\n  Email Address: email\n  Email Opt-In: consent_email\n",
    )
    result = _qualify(runner, "--leads", leads, "--mapping", mapping)
    assert result.exit_code == 0, result.stderr
    [decision] = _decisions(result.stdout)
    assert decision["lead_id"] == "C-1"
    assert {r["rule"] for r in decision["reasons"]} >= {"service_line_offered", "in_coverage_area"}


def test_an_invalid_mapping_is_a_usage_error(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    mapping = _write(tmp_path / "mapping.yaml", "leads:\n  Mail: emial\n")
    result = _qualify(runner, "--leads", samples / "leads.csv", "--mapping", mapping)
    assert result.exit_code == 2
    assert "unknown lead field `emial`; did you mean `email`?" in result.stderr


def test_a_missing_leads_file_is_a_usage_error_and_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "decisions.jsonl"
    result = _qualify(runner, "--leads", tmp_path / "nope.csv", "-o", out)
    assert result.exit_code == 2
    assert "nope.csv: file not found" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_fails_half_way_leaves_the_previous_output_untouched(
    runner: CliRunner, tmp_path: Path
) -> None:
    leads = _write(tmp_path / "leads.jsonl", '{"lead_id": "L-1"}\n[1]\n')
    out = _write(tmp_path / "decisions.jsonl", "previous\n")
    result = _qualify(runner, "--leads", leads, "-o", out)
    assert result.exit_code == 2
    assert "leads.jsonl line 2: expected a JSON object" in result.stderr
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.jsonl", "leads.jsonl"]


def test_a_broken_playbook_is_a_usage_error_listing_every_problem(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    playbook = _write(tmp_path / "broken.yaml", "id: broken\nname: Broken\nbogus: 1\nfit: 3\n")
    result = runner.invoke(
        app, ["qualify", "--playbook", str(playbook), "--leads", str(samples / "leads.csv")]
    )
    assert result.exit_code == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(playbook))]
    assert len(problems) >= 2
    assert any(":3:1:" in line and "bogus" in line for line in problems)


def test_an_unknown_playbook_name_is_a_usage_error(runner: CliRunner, samples: Path) -> None:
    result = runner.invoke(
        app, ["qualify", "--playbook", "specialty-clinik", "--leads", str(samples / "leads.csv")]
    )
    assert result.exit_code == 2
    assert "specialty-clinic" in result.stderr


# --- playbook, sample, version ------------------------------------------------------------


def test_playbook_check_prints_ok_with_id_and_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["playbook", "check", "specialty-clinic"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: specialty-clinic version ")


def test_playbook_check_prints_every_located_problem_and_exits_1(
    runner: CliRunner, tmp_path: Path
) -> None:
    playbook = _write(tmp_path / "broken.yaml", "id: broken\nname: Broken\nbogus: 1\n")
    result = runner.invoke(app, ["playbook", "check", str(playbook)])
    assert result.exit_code == 1
    assert f"{playbook}:3:1:" in result.stdout


def test_playbook_doc_writes_markdown_to_stdout_or_a_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    shown = runner.invoke(app, ["playbook", "doc", "specialty-clinic"])
    assert shown.exit_code == 0
    assert shown.stdout.startswith("# ")
    out = tmp_path / "definitions.md"
    written = runner.invoke(app, ["playbook", "doc", "specialty-clinic", "-o", str(out)])
    assert written.exit_code == 0
    assert out.read_text(encoding="utf-8") == shown.stdout


def test_playbook_list_names_every_shipped_playbook_with_its_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["playbook", "list"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == shipped_playbooks()
    assert all(len(line.split()[1]) >= 8 for line in result.stdout.splitlines())


def test_version_prints_the_package_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"leadflow {__version__}"


def test_sample_copies_the_bundled_files_and_can_run_twice(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "demo"
    first = runner.invoke(app, ["sample", str(target)])
    again = runner.invoke(app, ["sample", str(target)])
    assert first.exit_code == again.exit_code == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(SAMPLE_FILES)
    assert "leadflow qualify --playbook specialty-clinic" in first.stdout


def test_sample_refuses_to_overwrite_a_changed_file_unless_forced(
    runner: CliRunner, tmp_path: Path
) -> None:
    _write(tmp_path / "leads.csv", "lead_id\nmine\n")
    refused = runner.invoke(app, ["sample", str(tmp_path)])
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert (tmp_path / "leads.csv").read_text(encoding="utf-8") == "lead_id\nmine\n"
    forced = runner.invoke(app, ["sample", str(tmp_path), "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "leads.csv").read_bytes() == sample_path("leads.csv").read_bytes()


# --- the progress bar ---------------------------------------------------------------------


def _big_leads_file(tmp_path: Path) -> Path:
    rows = "".join(f"L-{n},MA,{'x' * 40}\n" for n in range(PROGRESS_MIN_BYTES // 40))
    return _write(tmp_path / "leads.csv", "lead_id,state,note\n" + rows)


def test_a_progress_bar_is_shown_on_a_terminal_for_a_large_input(tmp_path: Path) -> None:
    screen = io.StringIO()
    reporter = ConsoleReporter(Console(file=screen, force_terminal=True, width=100), None)
    with reporter.progress_bar(_big_leads_file(tmp_path), None, enabled=True):
        reporter.progress("leads", 10)
    assert "Qualifying leads" in screen.getvalue()


@pytest.mark.parametrize(
    ("terminal", "enabled", "large"),
    [(False, True, True), (True, False, True), (True, True, False)],
)
def test_no_progress_bar_off_a_terminal_for_stdout_or_for_a_small_input(
    tmp_path: Path, terminal: bool, enabled: bool, large: bool
) -> None:
    leads = _big_leads_file(tmp_path) if large else _write(tmp_path / "l.csv", "lead_id\nL-1\n")
    screen = io.StringIO()
    reporter = ConsoleReporter(Console(file=screen, force_terminal=terminal), None)
    with reporter.progress_bar(leads, None, enabled=enabled):
        reporter.progress("leads", 1)
    assert screen.getvalue() == ""


def test_qualify_stops_quietly_when_the_reader_of_stdout_goes_away(tmp_path: Path) -> None:
    rows = "".join(f"L-{n},cardiology,MA,US\n" for n in range(2000))
    leads = _write(tmp_path / "leads.csv", "lead_id,service_line,state,country\n" + rows)
    command = [sys.executable, "-c", "from leadflow.entrypoints.cli import main; main()"]
    args = ["qualify", "--playbook", "specialty-clinic", "--leads", str(leads), "--as-of", AS_OF]
    with subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert json.loads(process.stdout.readline())["lead_id"] == "L-0"
        process.stdout.close()
        errors = process.stderr.read()
    assert process.returncode == 0
    assert errors == b""
