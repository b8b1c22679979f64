"""Capability `public_page`: A read-only public page for a record or list (e.g. a menu) and a QR code for its URL."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "public_page"


class Params(CapabilityBase):
    kind: Literal["public_page"] = "public_page"
    entity: Name
    fields: list[Name] = Field(min_length=1, description="fields shown publicly")
    published_field: Name | None = Field(default=None, description="boolean field; only rows with it true are public")
    qr: bool = True
