"""The import's problem log (bounded memory, read back like the sorted list it replaces)
and the amount fast path of the orders import."""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.retention.errors import ImportRowError, RowProblem
from bot.retention.importer import problems as log_module
from bot.retention.importer.problems import ImportProblem, ProblemLog
from bot.retention.importer.result import ImportResult, group_problems, problem_lines, write_errors
from bot.retention.importer.values import Bad, MoneyParser


def recorded(count: int, seed: int = 1) -> list[ImportProblem]:
    """Problems as the planners record them: mostly in line order, a line may have
    several, and a later pass (repeated order ids) adds some lines out of order."""
    rng = random.Random(seed)
    found: list[ImportProblem] = []
    line = 1
    while len(found) < count:
        line += rng.randrange(1, 4)
        for column in rng.sample(["amount", "ordered_at", None], rng.randrange(1, 3)):
            value = rng.choice(["n/a", "x", ""])
            found.append(ImportProblem(line, column, f"“{value}” is not right", value))
    late = sorted(rng.sample(range(2, line), 50))
    found += [
        ImportProblem(n, "order_id", f"order id “S{n}” is also on line {n - 1}", f"S{n}")
        for n in late
    ]
    return found


@pytest.fixture(params=[10_000, 5], ids=["in memory", "spilled"])
def kept(request, monkeypatch) -> int:
    monkeypatch.setattr(log_module, "KEPT_IN_MEMORY", request.param)
    return request.param


def test_the_log_reads_like_the_problems_sorted_by_line(kept: int) -> None:
    problems = recorded(3_000)
    log = ProblemLog(problems)

    expected = sorted(problems, key=lambda p: p.line)
    assert len(log) == len(problems)
    assert list(log) == expected
    assert log == expected and log != expected[:-1]
    assert log[0] == expected[0] and log[1234] == expected[1234] and log[-1] == expected[-1]
    assert log[10:13] == expected[10:13]
    assert log.bad_rows == len({p.line for p in problems})
    assert (log._file is None) == (kept > len(problems))


def test_the_summary_groups_are_those_of_the_sorted_list(kept: int) -> None:
    problems = recorded(3_000, seed=2)
    log = ProblemLog(problems)

    assert group_problems(log) == group_problems(list(problems))
    assert problem_lines(log) == problem_lines(list(problems))
    late = [group for group in log.groups() if group[0] == "order_id"]
    # "is also on line N" is one kind of problem whatever N is.
    assert len(late) == 1 and late[0][3] == 50 and late[0][2] == sorted(late[0][2])


def test_the_errors_file_lists_every_problem_in_line_order(kept: int, tmp_path: Path) -> None:
    problems = recorded(2_000, seed=3)
    problems.append(ImportProblem(999_999, "name", 'a "quoted"\nline break, and a comma', "x\ny"))
    log = ProblemLog(problems)

    assert write_errors(tmp_path / "errors.csv", log) == len(problems)

    with (tmp_path / "errors.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "column", "value", "reason"]
    assert rows[1:] == [
        [str(p.line), p.column or "", p.value or "", p.reason]
        for p in sorted(problems, key=lambda p: p.line)
    ]


def test_counts_come_from_the_log_without_reading_it_back(kept: int) -> None:
    log = ProblemLog(recorded(3_000, seed=4))
    expected_rows = len({p.line for p in recorded(3_000, seed=4)})

    error = ImportRowError(kind="orders", path="o.csv", problems=log)  # type: ignore[arg-type]
    result = ImportResult(kind="orders", path="o.csv", rows=9, created=0, updated=0, unchanged=0)
    result.skipped = log

    assert f"{expected_rows:,} bad rows in the orders file ({len(log):,} problems)" in error.message
    assert result.bad_rows == expected_rows


def test_a_plain_list_still_works(tmp_path: Path) -> None:
    problems = [RowProblem(3, "amount", "“a” bad"), RowProblem(2, "amount", "“b” bad")]

    assert group_problems(problems) == [("amount", "“b” bad", [2, 3], 2)]
    assert write_errors(tmp_path / "e.csv", problems) == 2
    assert ImportResult("orders", "o.csv", 2, 0, 0, 0, skipped=problems).bad_rows == 2


amount_texts = st.builds(
    lambda sign, symbol, whole, cents, style: (
        ("(" if sign == "(" else sign)
        + symbol
        + (f"{whole:,}" if style == "us" else f"{whole:,}".replace(",", "."))
        + (("." if style == "us" else ",") + cents if cents else "")
        + (")" if sign == "(" else "")
    ),
    st.sampled_from(["", "-", "("]),
    st.sampled_from(["", "$", "€", "£", "$ ", "USD "]),
    st.one_of(st.integers(0, 10**16), st.integers(0, 9999)),
    st.sampled_from(["", "5", "50", "05", "00", "123"]),
    st.sampled_from(["us", "eu"]),
)


@given(text=st.one_of(amount_texts, st.text("0123456789,.-()$€ ", max_size=14)))
@settings(max_examples=2_000, deadline=None)
def test_an_amount_as_text_is_the_parsed_amount_as_text(text: str) -> None:
    parse = MoneyParser()
    try:
        expected = str(parse(text))
    except Bad as error:
        with pytest.raises(Bad) as caught:
            parse.as_text(text)
        assert caught.value.reason == error.reason
    else:
        assert parse.as_text(text) == expected


def test_a_point_before_three_digits_reads_as_decimals_only_where_it_cannot_group() -> None:
    parse = MoneyParser()

    assert parse("0.500") == Decimal("0.5")
    assert parse("12.0000") == Decimal("12")
    for text in ("12.000", "-2.500", "€ 12.000"):
        with pytest.raises(Bad, match="is ambiguous"):
            parse(text)
    assert MoneyParser("en")("12.000") == Decimal("12")
