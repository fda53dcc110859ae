"""The SQL the measures are made of, the same on PostgreSQL and SQLite.

Timestamps become seconds since the epoch (`epoch`, `seconds_between`), buckets become
`YYYY-MM-DD` text (`week_start`, `month_start`; `utc_date` compares with a DATE), and every
statistic is an aggregate the database computes: nothing here loads the rows it summarises.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# A measure's sample: the rows it is computed over, as a SELECT of labelled columns
# `g` (the group: a trend bucket, or one constant for a summary) and `v` (a duration in
# seconds) or `hit` (1 or 0, for a rate), and for rates with a breakdown `k`.
Sample = sa.Select[*tuple[Any, ...]]


class epoch(FunctionElement[float]):
    """A timestamp as seconds since 1970-01-01 UTC (fractional)."""

    type = sa.Float()
    inherit_cache = True


@compiles(epoch, "postgresql")
def _epoch_pg(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part is double precision; EXTRACT is numeric since PostgreSQL 14, and slower to sum and sort.
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text; julianday() reads it to the millisecond.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


class utc_date(FunctionElement[Any]):
    """The UTC calendar day of a timestamp, comparable with a DATE column (on SQLite both are
    `YYYY-MM-DD` text)."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_date, "postgresql")
def _date_pg(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_date, "sqlite")
def _date_sqlite(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


class week_start(FunctionElement[str]):
    """The Monday (UTC) of a timestamp's ISO week, as `YYYY-MM-DD`."""

    type = sa.String()
    inherit_cache = True


@compiles(week_start, "postgresql")
def _week_pg(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('week', ({inner}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(week_start, "sqlite")
def _week_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves forward to the Sunday ending the week (or stays on a Sunday).
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


class month_start(FunctionElement[str]):
    """The first day (UTC) of a timestamp's month, as `YYYY-MM-DD`."""

    type = sa.String()
    inherit_cache = True


@compiles(month_start, "postgresql")
def _month_pg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('month', ({inner}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(month_start, "sqlite")
def _month_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-01', {compiler.process(element.clauses, **kw)})"


class seconds_between(FunctionElement[float]):
    """end − start, in seconds (fractional): seconds_between(start, end)."""

    type = sa.Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _between_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"date_part('epoch', ({end}) - ({start}))"


@compiles(seconds_between, "sqlite")
def _between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


ONE_GROUP: sa.ColumnClause[str] = sa.literal_column("'all'")


def _group(s: Any, grouped: bool) -> tuple[list[Any], Any]:
    """The group-by keys, and the `g` column to select (a constant for one group: PostgreSQL
    refuses a constant in GROUP BY)."""
    return ([s.c.g], s.c.g) if grouped else ([], ONE_GROUP.label("g"))


def duration_stats(sample: Sample, *, grouped: bool, ordered_sets: bool = False) -> Sample:
    """Per group `g`: count, mean, and the nearest-rank median and p90 of `v`.

    Nearest rank: the value at position ⌈p·n⌉ of the sorted sample, that is
    (n + 1) // 2 for the median and (9n + 9) // 10 for p90, in integers. PostgreSQL has it
    as an ordered-set aggregate (`percentile_disc`: one pass, `ordered_sets=True`); SQLite has
    none, so there the rows are ranked with window functions and the ranks picked out.
    """
    s = sample.subquery("sample")
    keys, g = _group(s, grouped)
    if ordered_sets:
        return sa.select(
            g,
            sa.func.count().label("count"),
            sa.func.avg(s.c.v).label("mean"),
            sa.func.percentile_disc(0.5).within_group(s.c.v).label("median"),
            sa.func.percentile_disc(0.9).within_group(s.c.v).label("p90"),
        ).group_by(*keys)
    ranked = sa.select(
        s.c.g, s.c.v,
        sa.func.row_number().over(partition_by=keys or None, order_by=s.c.v).label("rn"),
        sa.func.count().over(partition_by=keys or None).label("n"),
    ).subquery("ranked")
    keys, g = _group(ranked, grouped)
    return sa.select(
        g,
        sa.func.count().label("count"),
        sa.func.avg(ranked.c.v).label("mean"),
        sa.func.min(sa.case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.v))).label("median"),
        sa.func.min(sa.case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.v))).label("p90"),
    ).group_by(*keys)


def rate_counts(sample: Sample, *, grouped: bool, by_key: bool = False) -> Sample:
    """Per group `g` (and key `k`): how many rows hit, of how many."""
    s = sample.subquery("sample")
    keys, g = _group(s, grouped)
    if by_key:
        keys.append(s.c.k)
    return sa.select(g, *([s.c.k] if by_key else []),
                     sa.func.coalesce(sa.func.sum(s.c.hit), 0).label("numerator"),
                     sa.func.count().label("denominator")).group_by(*keys)


def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """1 where the condition holds, else 0 (NULL counts as 0)."""
    return sa.case((condition, 1), else_=0)


class uuid_text(FunctionElement[str]):
    """A UUID column as the hyphenated text that audit entries name entities by."""

    type = sa.String()
    inherit_cache = True


@compiles(uuid_text, "postgresql")
def _uuid_pg(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(uuid_text, "sqlite")
def _uuid_sqlite(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy keeps a UUID on SQLite as 32 hex digits.
    x = compiler.process(element.clauses, **kw)
    parts = "||'-'||".join(f"substr({x}, {start}, {length})" for start, length in ((1, 8), (9, 4), (13, 4),
                                                                                    (17, 4), (21, 12)))
    return f"lower({parts})"
