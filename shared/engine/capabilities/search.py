"""Capability `search`: Full-text search with ranking over text fields (SQLite FTS5 locally, Postgres full text in production)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "search"


class Params(CapabilityBase):
    kind: Literal["search"] = "search"
    entity: Name
    fields: list[Name] = Field(min_length=1, description="text/long_text fields searched")
