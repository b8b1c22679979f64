"""Stage 2 — tech-stack selection: detect needs, pick one component per layer, write a decision record."""

from __future__ import annotations

import re

from .. import catalogues
from ..artifacts import json_bytes
from ..domain import detect_needs
from ..generators import builtin_task
from ..schemas import (
    NEEDS,
    Alternative,
    ComponentChoice,
    Fallback,
    NeedFinding,
    PreferredStack,
    TechStackDecision,
)
from . import StageOutput

STAGE = "tech_stack"

#: The layers that must be runnable here (the generated app itself).
RUNNABLE_LAYERS = ("runtime", "database", "frontend")
ALWAYS_LAYERS = ("runtime", "database", "frontend", "hosting")
NEED_LAYER = {
    "auth": "auth",
    "payments": "payments",
    "realtime": "realtime",
    "ai": "ai",
    "file_uploads": "file_storage",
    "mobile": "mobile",
    "multi_tenancy": "multi_tenancy",
    "scale": "scale",
}


def required_layers(needs: dict[str, dict]) -> list[str]:
    layers = list(ALWAYS_LAYERS)
    for need in NEEDS:
        if needs[need]["detected"]:
            layers.append(NEED_LAYER[need])
    return layers


def _layer(layer: str) -> list[dict]:
    return catalogues.stack_catalogue()["layers"][layer]


def _default(layer: str) -> dict:
    items = _layer(layer)
    return next((c for c in items if c.get("default")), items[0])


def _parse_preferred(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        parts = re.split(r"[,;/+&|]|\band\b|\bwith\b|\bon\b", str(value), flags=re.IGNORECASE)
    return [p.strip().lower() for p in parts if p and p.strip()]


def _match_alias(term: str) -> tuple[str, dict] | None:
    for layer, items in catalogues.stack_catalogue()["layers"].items():
        for item in items:
            names = {item["id"].lower(), item["name"].lower(), *[a.lower() for a in item.get("aliases", [])]}
            if term in names:
                return layer, item
    return None


def _rationale(layer: str, comp: dict, needs: dict, preferred: bool) -> str:
    why = {
        "runtime": "The generated app must build, test and preview inside the factory's offline sandbox, which runs Python with Flask.",
        "database": "Zero-setup storage that ships with Python; good for one instance and for tests.",
        "frontend": "Server-served pages with CSS custom properties carry the design tokens directly, with no build step.",
        "hosting": "Production target: a container on Cloud Run, built by Cloud Build from the packaged source.",
        "auth": "Writes must be protected",
        "payments": "The idea takes money",
        "realtime": "Users expect to see others' changes without reloading",
        "ai": "The idea relies on model-generated output",
        "file_storage": "Users attach files",
        "mobile": "Users are on phones",
        "multi_tenancy": "Several organisations share one deployment",
        "scale": "Expected load is high",
    }[layer]
    need = next((n for n, lay in NEED_LAYER.items() if lay == layer), None)
    if need and needs[need]["evidence"]:
        why += f" (evidence: {', '.join(needs[need]['evidence'][:3])})."
    elif need:
        why += "."
    text = f"{why} {comp['name']}: {'; '.join(comp.get('pros', [])[:2])}."
    if preferred:
        text += " Requested in preferred_stack."
    return text


def _alternatives(layer: str, chosen: dict) -> list[Alternative]:
    out = []
    for c in _layer(layer):
        if c["id"] == chosen["id"]:
            continue
        if layer in RUNNABLE_LAYERS and not c.get("runnable_here"):
            why = f"not runnable in the factory sandbox ({'; '.join(c.get('cons', [])[:1]) or 'unsupported'})"
        else:
            why = "; ".join(c.get("cons", [])[:2]) or "not needed for the first version"
        out.append(Alternative(id=c["id"], name=c["name"], why_not=why))
    return out[:6]


def decide(idea: dict) -> TechStackDecision:
    needs = detect_needs(idea)
    layers = required_layers(needs)
    requested_raw = (idea.get("constraints") or {}).get("preferred_stack")
    chosen: dict[str, tuple[dict, bool]] = {layer: (_default(layer), False) for layer in layers}
    honoured, fallbacks, notes = [], [], []
    for term in _parse_preferred(requested_raw):
        hit = _match_alias(term)
        if hit is None:
            fallbacks.append(Fallback(requested=term, chosen="(catalogue default)",
                                      reason="not in the stack catalogue; the layer keeps its default"))
            continue
        layer, comp = hit
        if layer in RUNNABLE_LAYERS and not comp.get("runnable_here"):
            default = _default(layer)
            fallbacks.append(Fallback(
                requested=comp["name"], chosen=default["name"],
                reason=f"{comp['name']} cannot be built and tested in the factory sandbox; "
                       f"{default['name']} is used and {comp['name']} is noted for a later migration",
            ))
            notes.append(f"Founder prefers {comp['name']}; consider migrating once the MVP is validated.")
            continue
        if layer not in chosen:
            layers.append(layer)
        chosen[layer] = (comp, True)
        honoured.append(comp["id"])
    comps = []
    for layer in layers:
        comp, pref = chosen[layer]
        comps.append(ComponentChoice(layer=layer, id=comp["id"], name=comp["name"],
                                     rationale=_rationale(layer, comp, needs, pref),
                                     alternatives=_alternatives(layer, comp)))
    if needs["scale"]["detected"] or needs["multi_tenancy"]["detected"]:
        notes.append("SQLite is per-instance on Cloud Run: move to Cloud SQL for PostgreSQL before running more "
                     "than one instance.")
    if needs["payments"]["detected"]:
        notes.append("Payment keys (e.g. STRIPE_SECRET_KEY) belong in Secret Manager, never in the image.")
    if needs["ai"]["detected"]:
        notes.append("Model calls need an API key from Secret Manager and a per-tenant spend limit.")
    return TechStackDecision(
        needs={k: NeedFinding(**v) for k, v in needs.items()},
        components=comps,
        runtime=chosen["runtime"][0]["id"],
        database=chosen["database"][0]["id"],
        frontend=chosen["frontend"][0]["id"],
        preferred_stack=PreferredStack(
            requested=str(requested_raw) if requested_raw else None, honoured=honoured, fallbacks=fallbacks
        ),
        notes=notes,
    )


@builtin_task("tech_stack")
def _builtin(context: dict) -> TechStackDecision:
    return decide(context["idea"])


def check_decision(d: TechStackDecision, required: list[str] | None = None) -> list[str]:
    problems = []
    by_layer = {c.layer: c for c in d.components}
    for layer in RUNNABLE_LAYERS:
        comp_id = getattr(d, layer)
        comp = catalogues.stack_component(comp_id)
        if comp is None or comp["layer"] != layer:
            problems.append(f"{layer} {comp_id!r} is not a {layer} component in the catalogue")
        elif not comp.get("runnable_here"):
            problems.append(f"{layer} {comp_id!r} is not runnable here; choose a runnable_here component")
        if layer not in by_layer or by_layer[layer].id != comp_id:
            problems.append(f"components must include layer {layer!r} with id {comp_id!r}")
    for c in d.components:
        comp = catalogues.stack_component(c.id)
        if comp is None or comp["layer"] != c.layer:
            problems.append(f"component {c.id!r} is not in catalogue layer {c.layer!r}")
    for layer in required or []:
        if layer not in by_layer:
            problems.append(f"missing a component for layer {layer!r}")
    return problems


def render_markdown(idea: dict, d: TechStackDecision) -> str:
    lines = [f"# Decision record: tech stack for {idea.get('title') or 'the app'}", "", "Status: accepted", "",
             "## Context", "", "Needs detected from the idea's text, features and constraints:", "",
             "| Need | Detected | Evidence |", "| --- | --- | --- |"]
    for need in NEEDS:
        n = d.needs[need]
        lines.append(f"| {need} | {'yes' if n.detected else 'no'} | {'; '.join(n.evidence) or '-'} |")
    lines += ["", "## Decision", "", "| Layer | Component | Why |", "| --- | --- | --- |"]
    for c in d.components:
        lines.append(f"| {c.layer} | {c.name} (`{c.id}`) | {c.rationale} |")
    lines += ["", "## Alternatives considered", ""]
    for c in d.components:
        lines.append(f"### {c.layer}: {c.name}")
        lines += [f"- {a.name} (`{a.id}`): {a.why_not}" for a in c.alternatives] or ["- none"]
        lines.append("")
    lines += ["## Preferred stack", ""]
    p = d.preferred_stack
    if not p.requested:
        lines.append("None requested; catalogue defaults apply.")
    else:
        lines.append(f"Requested: `{p.requested}`.")
        if p.honoured:
            lines.append(f"Honoured: {', '.join(p.honoured)}.")
        for f in p.fallbacks:
            lines.append(f"- Fallback for {f.requested}: {f.chosen} — {f.reason}.")
    lines += ["", "## Consequences", ""]
    lines += [f"- {n}" for n in d.notes] or ["- The generated app runs with `python -m app`; nothing else to provision."]
    lines.append("")
    return "\n".join(lines)


def run(inp, config, gen) -> StageOutput:
    idea = inp.idea or {}
    needs = detect_needs(idea)
    layers = required_layers(needs)
    context = {
        "idea": idea,
        "validation": inp.prior.get("idea_validation", {}),
        "detected_needs": needs,
        "layers_required": layers,
        "stack_catalogue": catalogues.stack_catalogue()["layers"],
    }
    decision = gen.generate("tech_stack", context, TechStackDecision,
                           check=lambda d: check_decision(d, layers))
    artifacts = {
        "tech-stack.json": json_bytes(decision.model_dump(mode="json")),
        "tech-stack.md": render_markdown(idea, decision).encode("utf-8"),
    }
    summary = {
        "runtime": decision.runtime,
        "database": decision.database,
        "frontend": decision.frontend,
        "components": {c.layer: c.id for c in decision.components},
        "needs": [n for n in NEEDS if decision.needs[n].detected],
        "preferred_stack": {
            "requested": decision.preferred_stack.requested,
            "honoured": decision.preferred_stack.honoured,
            "fallbacks": [f.requested for f in decision.preferred_stack.fallbacks],
        },
    }
    return StageOutput("ok", summary, artifacts)
