"""Per-kind criteria: what each capability can be held to, and which stated rules its parameters realise.

Each group module (`k_*.py`) defines, for the kinds it covers:

* `REALISES[kind](cap, spec, rule, reading) -> bool` — does this capability, as bound, enforce the rule the
  founder stated (a `RuleReading`: category, words, number, nouns)? True only when a parameter carries the rule's
  own number and nouns (a reminder 14 days ahead realises "14 days before", not "3 days before").
* `DERIVE[kind](cap, spec, reading, feature) -> list[dict]` — criteria, each {"text", "template", "params",
  "rules": [indices into reading.rules it exercises]}; `reading` may be None (then only the base criteria).
* `COMPILE[template](p: Plan, **params)` — the scenario's steps.
"""

from __future__ import annotations

from importlib import import_module

GROUPS = ("k_records", "k_flow", "k_money", "k_notify", "k_scores", "k_attached", "k_content", "k_limit", "k_selection", "k_assignment", "k_import", "k_trigger", "k_document", "k_vote", "k_agreement", "k_enrolment", "k_guard")

REALISES: dict = {}
DERIVE: dict = {}
COMPILERS: dict = {}

for _g in GROUPS:
    try:
        _m = import_module(f"{__package__}.{_g}")
    except ModuleNotFoundError as exc:  # a group not written yet
        if exc.name != f"{__package__}.{_g}":
            raise
        continue
    REALISES.update(getattr(_m, "REALISES", {}))
    DERIVE.update(getattr(_m, "DERIVE", {}))
    COMPILERS.update(getattr(_m, "COMPILE", {}))
