"""The SQL the measures are made of, the same on PostgreSQL and SQLite.

Timestamps become seconds since the epoch (`epoch`, `seconds_between`), buckets become
`YYYY-MM-DD` text (`week_start`, `month_start`; `utc_date` compares with a DATE), and every
statistic is an aggregate the database computes: nothing here loads the rows it summarises.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# A family of measures' sample: the rows they are computed over, as a SELECT of labelled
# columns `g` (the group: a trend bucket, or one constant for a summary), one per measure
# named after it (a duration in seconds, or 1/0 for a rate; NULL: not in that measure's
# sample), and for rates with a breakdown `k`.
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


def stats(sample: Sample, *, durations: Sequence[str], rates: Sequence[str], keyed: Sequence[str] = (),
          keys: Sequence[str] = (), grouped: bool, ordered_sets: bool = False) -> Sample:
    """Per group `g`, every measure of one sample at once (one scan of its rows).

    The sample has a column per measure, named after it: a duration in seconds, or a rate's
    hit (1 or 0); NULL where the row is not in that measure's sample, so each aggregate skips
    it. A duration answers `<name>__count`, `__mean`, `__median`, `__p90`; a rate
    `<name>__numerator`, `__denominator`, and for a rate in `keyed` the same per key of the
    sample's column `k` (`<name>__<key>__numerator`...).

    Median and p90 are nearest rank: the value at position ⌈p·n⌉ of the sorted sample, that is
    (n + 1) // 2 for the median and (9n + 9) // 10 for p90, in integers. PostgreSQL has it as an
    ordered-set aggregate (`percentile_disc`, which skips NULLs: `ordered_sets=True`); SQLite has
    none, so there each duration's values are ranked with window functions and the ranks
    picked out.
    """
    # OFFSET 0 keeps the sample a subquery of its own: merged into the aggregate, each column's
    # expression (a CASE, an IN over a subquery) would be computed once per aggregate that reads it.
    s = sample.offset(0).subquery("sample")
    partition = [s.c.g] if grouped else []
    ranks: dict[str, tuple[Any, Any]] = {}
    if durations and not ordered_sets:
        columns: list[Any] = [s.c[name] for name in s.c.keys()]
        for name in durations:
            v = s.c[name]
            columns += [
                # NULLs rank apart, so that rank r is the r-th smallest value.
                sa.func.row_number().over(partition_by=[*partition, v.is_(None)], order_by=v).label(f"{name}__rn"),
                sa.func.count(v).over(partition_by=partition or None).label(f"{name}__n"),
            ]
        s = sa.select(*columns).subquery("ranked")
        ranks = {name: (s.c[f"{name}__rn"], s.c[f"{name}__n"]) for name in durations}
    keys_by, g = _group(s, grouped)
    aggregates: list[Any] = []
    for name in durations:
        v = s.c[name]
        if ordered_sets:
            median: Any = sa.func.percentile_disc(0.5).within_group(v)
            p90: Any = sa.func.percentile_disc(0.9).within_group(v)
        else:
            rn, n = ranks[name]
            median = sa.func.min(sa.case((rn == (n + 1) // 2, v)))
            p90 = sa.func.min(sa.case((rn == (9 * n + 9) // 10, v)))
        aggregates += [sa.func.count(v).label(f"{name}__count"), sa.func.avg(v).label(f"{name}__mean"),
                       median.label(f"{name}__median"), p90.label(f"{name}__p90")]
    for name in rates:
        hit = s.c[name]
        aggregates += [sa.func.coalesce(sa.func.sum(hit), 0).label(f"{name}__numerator"),
                       sa.func.count(hit).label(f"{name}__denominator")]
        if name in keyed:
            for key in keys:
                of_key = sa.case((s.c.k == key, hit))
                aggregates += [sa.func.coalesce(sa.func.sum(of_key), 0).label(f"{name}__{key}__numerator"),
                               sa.func.count(of_key).label(f"{name}__{key}__denominator")]
    return sa.select(g, *aggregates).group_by(*keys_by)


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
