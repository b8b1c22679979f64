"""The app spec: a versioned, typed plan of the generated app (see model.py).

`base` holds what the capability modules need and imports nothing of theirs; `model` builds the spec on the
capability union, so it is imported lazily here (importing `shared.engine.capabilities` first must work).
"""

from importlib import import_module

from .base import CapabilityBase, Name, Route

_MODEL_NAMES = (
    "FIELD_TYPES", "OWNER_ROLE", "SPEC_VERSION", "AppSpec", "EntitySpec", "FieldSpec", "NavItem", "PageSpec",
    "RelationSpec", "RoleSpec", "TraceEntry", "spec_problems", "RULE_CATEGORIES", "WordUse", "RuleReading",
    "EffectReading", "FeatureReading", "Criterion",
)

__all__ = ["CapabilityBase", "Name", "Route", *_MODEL_NAMES]


def __getattr__(name: str):
    if name in _MODEL_NAMES:
        return getattr(import_module(f"{__name__}.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
