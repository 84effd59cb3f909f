"""Observed series CSVs: what reads, and every bad row as one located line with exit status 2."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.data.observed import parse_observed, read_observed
from sim.errors import ObservedError

GOOD = """\
date,sector,value,source
2024-11-20,kursk,800,report
2024-08-22,kursk,1376,"report, with a comma"
2024-10-01,axis one,3.5,map
2024-10-15,axis one,4.25,map

2024-10-04,axis one,3.75,
"""


def test_reads_sectors_in_order_sorted_by_date_with_extra_columns():
    series = parse_observed(GOOD, file="g.csv")
    assert list(series) == ["kursk", "axis one"]
    k = series["kursk"]
    assert k.dates == (dt.date(2024, 8, 22), dt.date(2024, 11, 20))
    np.testing.assert_array_equal(k.values, [1376, 800])
    assert k.lines == (3, 2)  # the file's lines, after sorting by date
    assert k.extra["source"] == ("report, with a comma", "report")
    a = series["axis one"]
    np.testing.assert_array_equal(a.values, [3.5, 3.75, 4.25])
    assert a.lines == (4, 7, 5)  # the blank line still counts


def test_value_at_interpolates_between_observations_and_not_outside():
    a = parse_observed(GOOD)["axis one"]
    assert a.value_at(dt.date(2024, 10, 4)) == 3.75
    assert a.value_at(dt.date(2024, 10, 9)) == pytest.approx(3.75 + 0.5 * 5 / 11)
    assert a.value_at(dt.date(2024, 9, 30)) is None
    assert a.value_at(dt.date(2024, 10, 16)) is None


def test_byte_order_mark_crlf_and_header_case(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes(b"\xef\xbb\xbfDate, Sector ,VALUE\r\n2024-01-02,s,1\r\n2024-01-05,s,2\r\n")
    s = read_observed(p)["s"]
    assert s.lines == (2, 3) and s.values.tolist() == [1.0, 2.0]


def test_between_keeps_the_window():
    a = parse_observed(GOOD)["axis one"].between(dt.date(2024, 10, 2), dt.date(2024, 10, 15))
    assert a.dates == (dt.date(2024, 10, 4), dt.date(2024, 10, 15))
    assert a.extra["source"] == ("", "map")


H = "date,sector,value\n"
ROW = "2024-11-20,kursk,800\n"

# name -> (file content, or None for no file; line; column; a distinctive part of the message)
BAD = {
    "empty_file": ("", 1, "", "the file is empty"),
    "blank_file": ("\n \n", 1, "", "the file is empty"),
    "header_only": (H, 2, "", "no observations"),
    "missing_value_column": ("date,sector\n2024-11-20,kursk\n", 1, "value", "missing column"),
    "misspelt_column": ("date,sector,valeu\n" + ROW, 1, "value",
                        "missing column (did you mean 'valeu'?)"),
    "repeated_column": ("date,sector,value,date\n", 1, "date", "appears twice"),
    "unnamed_column": ("date,,value\n", 1, "", "column 2 has no name"),
    "slashed_date": (H + ROW + "2024/11/21,kursk,790\n", 3, "date",
                     "expected a date as YYYY-MM-DD, got '2024/11/21'"),
    "impossible_date": (H + ROW + "2024-02-30,kursk,790\n", 3, "date", "not a calendar date"),
    "text_value": (H + ROW + "2024-11-21,kursk,about 790\n", 3, "value",
                   "expected a number (km advanced, or km² held), got 'about 790'"),
    "thousands_separator": (H + '2024-11-21,kursk,"1,376"\n', 2, "value",
                            "no thousands separators"),
    "empty_value": (H + "2024-11-21,kursk,\n", 2, "value", "expected a number"),
    "infinite_value": (H + "2024-11-21,kursk,inf\n", 2, "value", "finite"),
    "negative_value": (H + "2024-11-21,kursk,-3\n", 2, "value", "must be >= 0"),
    "duplicate_date": (H + ROW + "2024-11-21,kursk,790\n2024-11-20,kursk,799\n", 4, "date",
                       "2024-11-20 repeats for sector 'kursk' (first on line 2"),
    "too_many_fields": (H + "2024-11-21,kursk,1,376\n", 2, "value",
                        "the row has 4 fields, the header 3 (a comma inside a value needs quotes)"),
    "too_few_fields": (H + ROW + "2024-11-21,kursk\n", 3, "value",
                       "the row has 2 fields, the header 3"),
    "empty_sector": (H + "2024-11-21, ,790\n", 2, "sector", "empty (expected a sector name)"),
    "unclosed_quote": (H + ROW + '2024-11-21,"kursk,790\n2024-11-22,kursk,780\n', 3, "",
                       "a quote opened on this line is not closed (the row runs on to line 4)"),
    "nul_byte": (H + "2024-11-21,kur\0sk,790\n", 2, "sector", "control character '\\x00'"),
    "not_utf8": (None, 2, "", "not UTF-8 text"),
    "missing_file": (None, None, "", "no such file"),
    "unknown_sector": (H + ROW, None, "sector", "no sector 'kursk2' (did you mean 'kursk'?)"),
}


def expected_line(path: str, line: int | None, column: str, _word: str) -> str:
    where = path if line is None else f"{path}:{line}"
    return f"{where}:" + (f" {column}:" if column else "")


COMMANDS = ["calibrate", "backtest"]
CASES = [(c, n) for c in COMMANDS for n in sorted(BAD)
         if not (c == "backtest" and n == "unknown_sector")]  # backtest matches the scenario's


@pytest.mark.parametrize(("command", "name"), CASES)
def test_bad_observed_file_is_one_located_line_and_exit_2(command, name, tmp_path):
    content, line, column, word = BAD[name]
    path = tmp_path / "obs.csv"
    if name == "not_utf8":
        path.write_bytes(b"date,sector,value\n2024-11-20,kursk,800 \xff\n")
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    if command == "calibrate":
        args = ["calibrate", str(path), "--sector", "kursk2" if name == "unknown_sector"
                else "kursk"]
    else:
        args = ["backtest", "scenarios/kursk.yaml", "--observed", str(path), "-n", "10"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(expected_line(str(path), line, column, word)), lines[0]
    assert word in lines[0]
    assert "Traceback" not in r.output


def test_errors_are_advsim_errors_with_their_location():
    with pytest.raises(ObservedError) as e:
        parse_observed(H + "x,kursk,1\n", file="f.csv")
    assert (e.value.file, e.value.line, e.value.key) == ("f.csv", 2, "date")
