"""CSV files as CRMs and spreadsheets export them: delimiters, headers in English and
German, a byte order mark, and `--columns` for names sopgen does not know."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from casekit import SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from sopgen.cases.csvrows import parse_csv

BERLIN = ZoneInfo("Europe/Berlin")


def write(project: Project, text: str, name: str = "export.csv") -> Path:
    path = project.root / name
    path.write_bytes(text.encode("utf-8"))
    return path


def shown(project: Project, case_id: str) -> dict[str, object]:
    result = project.run("show", case_id, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_german_crm_export_with_semicolons_bom_and_header(project: Project):
    text = (
        "\ufeffFall-Nr.;Eingang;Bearbeiter;Zusammenfassung\r\n"
        "K-1;2026-11-20 18:05;Jörg Müller;Wasserkocher, Toaster, Mixer, Föhn defekt\r\n"
        "K-2;2026-11-20 09:00;Anna Schmidt;Lieferung fehlt\r\n"
    )
    result = project.run("import", str(write(project, text)), "--sop", SOP)
    assert result.exit_code == 0, result.output
    assert "imported 2 cases under SOP-CS-001" in result.stdout
    k1 = shown(project, "K-1")
    assert k1["assignee"] == "Jörg Müller"
    assert k1["summary"] == "Wasserkocher, Toaster, Mixer, Föhn defekt"
    assert k1["received"] == "2026-11-20T18:05:00+01:00"
    assert shown(project, "K-2")["assignee"] == "Anna Schmidt"


@pytest.mark.parametrize(
    "header",
    [
        "case id,received,assignee,summary",
        "Case No.,Received At,Assigned to,Description",
        "Fall-Nr.,Eingang,Bearbeiter,Zusammenfassung",
        "Vorgangsnummer,Eingangsdatum,Sachbearbeiter/in,Betreff",
        "FALLNUMMER,EINGANG AM,ZUSTÄNDIG,BESCHREIBUNG",
        "Ticket-Nr.,Erstellt am,Bearbeiter:in,Anliegen",
    ],
)
def test_header_names_in_english_and_german(header: str):
    rows = parse_csv(f"{header}\nA-1,2026-11-20T18:05,ann,Kettle\n", "f.csv", BERLIN)
    assert not rows.problems
    assert [(r.case_id, r.assignee, r.summary, r.line) for r in rows.rows] == [
        ("A-1", "ann", "Kettle", 2)
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected_even_when_commas_fill_the_text(delimiter: str):
    rows = [
        ["K-1", "2026-11-20 18:05", "Müller, Jörg", "Wasserkocher, Toaster, Mixer, Föhn"],
        ["K-2", "2026-11-20 09:00", "Schmidt, Anna", "Lieferung fehlt"],
        ["K-3", "2026-11-20 10:00", "Lehmann, Tom", "Rechnung, falsch"],
    ]
    if delimiter == ",":  # a comma file quotes its commas
        lines = [",".join(f'"{c}"' if "," in c else c for c in row) for row in rows]
    else:
        lines = [delimiter.join(row) for row in rows]
    read = parse_csv("\n".join(lines) + "\n", "f.csv", BERLIN)
    assert not read.problems
    assert [(r.case_id, r.assignee) for r in read.rows] == [
        ("K-1", "Müller, Jörg"),
        ("K-2", "Schmidt, Anna"),
        ("K-3", "Lehmann, Tom"),
    ]
    assert read.rows[0].summary == "Wasserkocher, Toaster, Mixer, Föhn"


def test_a_header_without_assignee_and_a_headerless_two_column_file_agree(project: Project):
    with_header = write(project, "case,received\nH-1,2026-11-20T10:00\n", "header.csv")
    bare = write(project, "B-1,2026-11-20T10:00\n", "bare.csv")
    semicolons = write(project, "B-2;2026-11-20T10:00\n", "semi.csv")
    for path in (with_header, bare, semicolons):
        result = project.run("import", str(path), "--sop", SOP)
        assert result.exit_code == 0, result.output
        assert "imported 1 case under SOP-CS-001" in result.stdout
    for case_id in ("H-1", "B-1", "B-2"):
        case = shown(project, case_id)
        assert case["assignee"] is None
        assert case["received"] == "2026-11-20T10:00:00+01:00"


def test_a_row_wider_than_its_header_is_refused_but_trailing_empty_cells_are_not():
    read = parse_csv(
        "case;received\nA-1;2026-11-20T10:00;;\nA-2;2026-11-20T10:00;bob\n", "f.csv", BERLIN
    )
    assert [r.case_id for r in read.rows] == ["A-1"]
    assert [(p.line, p.message) for p in read.problems] == [
        (3, "the row has 3 columns; the header has 2")
    ]


def test_unknown_header_names_are_reported_with_a_hint_and_mapped_by_columns(project: Project):
    path = write(project, "Nummer;Zeit;Wer\nX-1;2026-11-20 10:00;ann\n")
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 1
    assert (
        f"{path}:1:1: error: the header row ('Nummer', 'Zeit', 'Wer') names no 'case' and no "
        "'received' column" in result.stderr
    )
    assert "--columns case=NAME,received=NAME" in result.stderr
    assert not (project.root / "output").exists()
    result = project.run(
        "import", str(path), "--sop", SOP, "--columns", "case=nummer,received=Zeit,assignee=Wer"
    )
    assert result.exit_code == 0, result.output
    assert shown(project, "X-1")["assignee"] == "ann"


def test_columns_by_number_for_a_headerless_file(project: Project):
    path = write(project, "2026-11-20 10:00,Kettle broken,N-1\n")
    result = project.run(
        "import", str(path), "--sop", SOP, "--columns", "received=1,summary=2,case=3"
    )
    assert result.exit_code == 0, result.output
    case = shown(project, "N-1")
    assert case["summary"] == "Kettle broken"
    assert case["assignee"] is None


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("case", "'case' is not COLUMN=NAME"),
        ("ticket=Nr", "unknown column 'ticket'"),
        ("case=1,case=2", "column 'case' is mapped twice"),
    ],
)
def test_bad_columns_option_is_a_usage_error(project: Project, option: str, message: str):
    path = write(project, "C-1,2026-11-20T10:00\n")
    result = project.run("import", str(path), "--sop", SOP, "--columns", option)
    assert result.exit_code == 2
    assert message in result.stderr


def test_columns_naming_a_header_the_file_lacks(project: Project):
    path = write(project, "case,received\nC-1,2026-11-20T10:00\n")
    result = project.run("import", str(path), "--sop", SOP, "--columns", "assignee=Agent")
    assert result.exit_code == 1
    assert "--columns names 'Agent' for assignee, but the header names 'case', 'received'" in (
        result.stderr
    )


def test_a_pipe_is_read_once(project: Project):
    import os
    import threading

    fifo = project.root / "export.pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as pipe:
            pipe.write("Fall-Nr.;Eingang\nP-1;2026-11-20 10:00\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = project.run("import", str(fifo), "--sop", SOP)
    writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert "imported 1 case under SOP-CS-001" in result.stdout
