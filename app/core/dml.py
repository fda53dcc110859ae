"""What an UPDATE, INSERT or DELETE run through a session reports."""

from typing import Any

from sqlalchemy.engine import CursorResult, Result


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows the statement matched. `AsyncSession.execute` returns a `CursorResult` for DML, but its
    signature says `Result`, which has no `rowcount`."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the CursorResult of a DML statement, got {type(result).__name__}")
    return result.rowcount
