"""Building blocks shared by the app spec and the capability library (no imports of either).

Names in a spec are snake_case identifiers (`Name`): they become Python identifiers, table names and URL
segments in the generated app, so the pattern is the security boundary for generated code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Evidence = Annotated[str, StringConstraints(max_length=300)]

RESERVED_NAMES = frozenset({
    "id", "created_at", "updated_at", "owner_id", "user", "users", "api", "health", "schema", "static", "login",
    "logout", "signup", "session", "account", "settings", "index", "home", "app", "tests", "metadata", "query",
    "registry", "type", "class", "def", "return", "import", "from", "global", "lambda", "pass", "none", "true",
    "false", "and", "or", "not", "is", "in", "if", "else", "elif", "for", "while", "with", "as", "try", "except",
    "raise", "del", "yield", "async", "await", "assert", "break", "continue", "finally", "nonlocal", "print",
})


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Route(SpecModel):
    """One HTTP route the generated app serves for a capability (declared in the spec, served at /api/schema)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/[A-Za-z0-9_/<>:.-]*$", max_length=200)
    summary: str = Field(min_length=1, max_length=200)
    roles: list[Name] = Field(default_factory=list, description="roles allowed; empty = public (read-only pages)")


class CapabilityBase(SpecModel):
    """Every capability: a unique id (module and URL prefix in the generated app) and its kind (discriminator)."""

    id: Name = Field(description="unique within the spec; the generated module app/capabilities/<id>.py")
    label: Label = Field(description="what the founder calls it, e.g. 'Kiln booking calendar'")
    routes: list[Route] = Field(default_factory=list,
                                description="filled by the compiler from the capability's declaration")
