"""What every table shares: SQLModel's metadata with the naming convention, and two column helpers.

Imported by every model module before its tables are declared, so the convention names
every constraint and index (Alembic's migrations rely on those names).
"""

import uuid
from typing import Any

from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import NAMING_CONVENTION, UTCDateTime

SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def uuid_pk() -> Any:
    """A UUID primary key, generated in Python."""
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at() -> Any:
    """When the row was made, by the app's clock."""
    return Field(default_factory=clock.now, sa_type=UTCDateTime)



