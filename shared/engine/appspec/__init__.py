"""The app spec: a versioned, typed plan of the generated app (see model.py)."""

from .base import CapabilityBase, Name, Route
from .model import (
    FIELD_TYPES,
    OWNER_ROLE,
    SPEC_VERSION,
    AppSpec,
    EntitySpec,
    FieldSpec,
    NavItem,
    PageSpec,
    RelationSpec,
    RoleSpec,
    TraceEntry,
    spec_problems,
)

__all__ = [
    "FIELD_TYPES", "OWNER_ROLE", "SPEC_VERSION", "AppSpec", "CapabilityBase", "EntitySpec", "FieldSpec", "Name",
    "NavItem", "PageSpec", "RelationSpec", "RoleSpec", "Route", "TraceEntry", "spec_problems",
]
