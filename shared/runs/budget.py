"""A run's budget (compute seconds and tokens): what it starts with, and whether its spend has used it up."""

from __future__ import annotations

from shared import errors
from shared.models.pipeline import Constraints
from shared.settings import get_settings


def _budget(constraints: Constraints) -> dict:
    s = get_settings()
    b = constraints.budget
    return {"compute_s": (b.compute_s if b and b.compute_s else s.default_budget_compute_s),
            "tokens": (b.tokens if b and b.tokens else s.default_budget_tokens)}


def over_budget(p: dict, budget: dict | None = None) -> str | None:
    """Which budget (compute_s or tokens) the run's total spend, across every stage and attempt,
    has used up; None while there is budget left. Checked at retry, approve and every claim."""
    budget = p.get("budget") or {} if budget is None else budget
    spent = p.get("spent") or {}
    for k in ("compute_s", "tokens"):
        if budget.get(k) and (spent.get(k) or 0) >= budget[k]:
            return k
    return None


def _budget_error(p: dict, k: str) -> errors.Conflict:
    budget, spent = p.get("budget") or {}, p.get("spent") or {}
    return errors.Conflict(
        f"The run has used its {k.replace('_s', ' seconds')} budget ({spent.get(k)} of {budget.get(k)}). "
        f"Retry it with a larger budget (more than {spent.get(k)}; send budget.{k}).",
        code="budget_exceeded", details={"budget": budget, "spent": spent})

