"""Pydantic models of every structured output a generator produces.

Both engines are held to these: the built-in engine constructs them directly, the LLM engine's JSON is
validated against them (and repaired on failure). The stage code then turns them into artifacts.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENT = r"^[a-z][a-z0-9_]{0,39}$"
HEX = r"^#[0-9a-fA-F]{6}$"
URL = r"^https?://[^\s]+$"
NEEDS = ("auth", "payments", "realtime", "ai", "file_uploads", "mobile", "multi_tenancy", "scale")
FIELD_TYPES = ("text", "email", "integer", "number", "boolean", "date")
RESERVED_FIELDS = frozenset({"id", "created_at", "updated_at", "workspace"})
RESERVED_ROUTES = frozenset(
    {"api", "health", "schema", "changes", "static", "settings", "login", "pricing", "index", "home", "app", "tests"}
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- idea validation


class Score(_Model):
    value: int = Field(ge=0, le=100)
    reasons: list[str] = Field(min_length=1, max_length=12)


class Scores(_Model):
    clarity: Score
    specificity: Score
    market_signal: Score


class CategoryMatch(_Model):
    id: str
    name: str
    matched_keywords: list[str] = Field(default_factory=list, max_length=20)


class SimilarProduct(_Model):
    name: str = Field(min_length=1, max_length=80)
    source_url: str = Field(pattern=URL)
    category: str
    # sourced (catalogue) products carry their BM25 score and the idea's words that matched
    score: float | None = None
    matched_words: list[str] = Field(default_factory=list, max_length=30)
    pricing: str | None = None
    source: Literal["catalogue", "model"] = "catalogue"


class Differentiator(_Model):
    """A stated difference from the product an idea restates, quoted from the idea."""

    kind: Literal["audience", "constraint", "price", "contrast"]
    quote: str = Field(min_length=1, max_length=200)
    why: str = Field(default="", max_length=300)


class ValidationReport(_Model):
    problem: str = Field(min_length=1, max_length=1200)
    audience: str = Field(min_length=1, max_length=300)
    features: list[str] = Field(max_length=20)
    scores: Scores
    categories: list[CategoryMatch] = Field(default_factory=list, max_length=10)
    similar_products: list[SimilarProduct] = Field(default_factory=list, max_length=15)
    clone_of: list[str] = Field(default_factory=list, max_length=10)
    # products the idea restates but differs from (named as competitors; verdict may still be go)
    competitors: list[str] = Field(default_factory=list, max_length=10)
    # the restated product's core features the idea covers, and the stated differences from it
    matched_features: list[str] = Field(default_factory=list, max_length=10)
    differentiators: list[Differentiator] = Field(default_factory=list, max_length=6)
    # the LLM engine's own suggestions, kept apart from the sourced catalogue matches
    model_suggested_products: list[SimilarProduct] = Field(default_factory=list, max_length=10)
    verdict: Literal["go", "needs_work", "reject"]
    feedback: list[str] = Field(default_factory=list, max_length=12)
    reject_reason: str | None = None

    @model_validator(mode="after")
    def _verdict_consistent(self):
        if self.verdict == "needs_work" and not self.feedback:
            raise ValueError("verdict 'needs_work' requires at least one feedback item")
        if self.verdict == "reject" and not self.reject_reason:
            raise ValueError("verdict 'reject' requires reject_reason")
        return self


# ---------------------------------------------------------------- tech stack


class NeedFinding(_Model):
    detected: bool
    evidence: list[str] = Field(default_factory=list, max_length=10)


class Alternative(_Model):
    id: str
    name: str
    why_not: str = Field(min_length=1)


class ComponentChoice(_Model):
    layer: str
    id: str
    name: str
    rationale: str = Field(min_length=1)
    alternatives: list[Alternative] = Field(default_factory=list, max_length=6)


class Fallback(_Model):
    requested: str
    chosen: str
    reason: str


class PreferredStack(_Model):
    requested: str | None = None
    honoured: list[str] = Field(default_factory=list)
    fallbacks: list[Fallback] = Field(default_factory=list)


class TechStackDecision(_Model):
    needs: dict[str, NeedFinding]
    components: list[ComponentChoice] = Field(min_length=3)
    runtime: str
    database: str
    frontend: str
    preferred_stack: PreferredStack
    notes: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("needs")
    @classmethod
    def _all_needs(cls, v: dict[str, NeedFinding]):
        missing = [n for n in NEEDS if n not in v]
        extra = [n for n in v if n not in NEEDS]
        if missing or extra:
            raise ValueError(f"needs must have exactly the keys {list(NEEDS)}; missing {missing}, unexpected {extra}")
        return v


# ---------------------------------------------------------------- design


class Palette(_Model):
    primary: str = Field(pattern=HEX)
    on_primary: str = Field(pattern=HEX)
    accent: str = Field(pattern=HEX)
    on_accent: str = Field(pattern=HEX)
    background: str = Field(pattern=HEX)
    surface: str = Field(pattern=HEX)
    text: str = Field(pattern=HEX)
    muted_text: str = Field(pattern=HEX)
    border: str = Field(pattern=HEX)
    danger: str = Field(pattern=HEX)
    success: str = Field(pattern=HEX)


class DesignProposal(_Model):
    """What a generator proposes; the stage enforces WCAG AA on it and derives the full design system."""

    name: str = Field(min_length=1, max_length=60)
    tone: str = Field(min_length=1, max_length=200)
    palette: Palette
    font_family: str = Field(min_length=1, max_length=200)
    heading_font_family: str = Field(min_length=1, max_length=200)
    base_size_px: int = Field(ge=14, le=20)
    scale_ratio: float = Field(ge=1.1, le=1.5)
    spacing_base_px: int = Field(ge=2, le=8)
    radius_px: int = Field(ge=0, le=16)


# ---------------------------------------------------------------- app spec (development)


class FieldSpec(_Model):
    name: str = Field(pattern=IDENT)
    type: Literal["text", "email", "integer", "number", "boolean", "date"]
    required: bool = False
    label: str = Field(min_length=1, max_length=60)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str):
        if v in RESERVED_FIELDS:
            raise ValueError(f"field name {v!r} is reserved")
        return v


class EntitySpec(_Model):
    name: str = Field(pattern=IDENT)
    plural: str = Field(pattern=IDENT)
    label: str = Field(min_length=1, max_length=60)
    label_plural: str = Field(min_length=1, max_length=60)
    fields: list[FieldSpec] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _check(self):
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"entity {self.name!r} has duplicate field names")
        if self.plural in RESERVED_ROUTES or self.name in RESERVED_ROUTES:
            raise ValueError(f"entity {self.name!r}/{self.plural!r} collides with a reserved route")
        if not any(f.type in ("text", "email") for f in self.fields):
            raise ValueError(f"entity {self.name!r} needs at least one text field to display")
        return self


class AppSpec(_Model):
    app_name: str = Field(min_length=1, max_length=60)
    tagline: str = Field(min_length=1, max_length=160)
    description: str = Field(min_length=1, max_length=800)
    entities: list[EntitySpec] = Field(min_length=1, max_length=6)

    @model_validator(mode="after")
    def _unique(self):
        seen: set[str] = set()
        for e in self.entities:
            for n in (e.name, e.plural):
                if n in seen:
                    raise ValueError(f"entity name {n!r} is used twice")
                seen.add(n)
        return self


# ---------------------------------------------------------------- qa and deployment


class QAReview(_Model):
    summary: str = Field(min_length=1, max_length=1200)
    priorities: list[str] = Field(default_factory=list, max_length=10)


_SECRETISH = re.compile(r"(?i)(secret|password|passwd|token|api[_-]?key|private[_-]?key)")


class DeployPlan(_Model):
    service_name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$")
    cpu: Literal["1", "2"]
    memory: Literal["256Mi", "512Mi", "1Gi", "2Gi"]
    min_instances: int = Field(ge=0, le=3)
    max_instances: int = Field(ge=1, le=100)
    concurrency: int = Field(ge=1, le=250)
    env: dict[str, str] = Field(default_factory=dict)
    release_notes: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("env")
    @classmethod
    def _plain_env(cls, v: dict[str, str]):
        for k in v:
            if not re.match(r"^[A-Z][A-Z0-9_]{0,63}$", k):
                raise ValueError(f"env name {k!r} must be UPPER_SNAKE_CASE")
            if _SECRETISH.search(k):
                raise ValueError(f"env {k!r} looks like a secret; secrets go in Secret Manager, not the plan")
        return v

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_instances > self.max_instances:
            raise ValueError("min_instances must be <= max_instances")
        return self
