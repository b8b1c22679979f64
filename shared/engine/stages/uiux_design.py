"""Stage 3 — UI/UX design: the app spec (planned here, once), design tokens (WCAG AA enforced), a sitemap and one
SVG wireframe per page of that spec.

The app spec is planned in this stage (built-in or LLM, this stage's engine) and stored as `app-spec.json` with
`app-spec-history.json` (`specstore`); development, QA and deployment read it from there, so the wireframes show
the app that is built. When the run already holds a spec for this idea (this stage ran before, or development
repaired it after a QA loop-back) that spec is used and the wireframes are redrawn from it; nothing is planned.
"""

from __future__ import annotations

import colorsys
import hashlib
from xml.sax.saxutils import escape, quoteattr

from .. import specstore
from ..appspec import AppSpec
from ..artifacts import json_bytes
from ..domain import detect_needs
from ..generators import builtin_task
from ..schemas import DesignProposal, Palette
from ..textutil import shorten
from ..wcag import AA_LARGE, AA_NORMAL, adjust_for_contrast, contrast_ratio, rgb_to_hex
from . import StageOutput

STAGE = "uiux_design"

#: (foreground token, background token, minimum ratio, where the pair is used)
CONTRAST_PAIRS = (
    ("text", "background", AA_NORMAL, "body text"),
    ("text", "surface", AA_NORMAL, "text on cards, forms and tables"),
    ("muted_text", "background", AA_NORMAL, "secondary text"),
    ("muted_text", "surface", AA_NORMAL, "secondary text on cards"),
    ("primary", "background", AA_NORMAL, "links"),
    ("primary", "surface", AA_NORMAL, "links on cards"),
    ("on_primary", "primary", AA_NORMAL, "top bar and primary buttons"),
    ("on_accent", "accent", AA_NORMAL, "accent buttons"),
    ("danger", "background", AA_NORMAL, "error messages"),
    ("danger", "surface", AA_NORMAL, "delete actions in tables"),
    ("success", "background", AA_NORMAL, "confirmation messages"),
    ("success", "surface", AA_NORMAL, "confirmation messages in forms"),
    ("border", "background", AA_LARGE, "input and card boundaries (WCAG 1.4.11 non-text contrast)"),
)

CATEGORY_HUES = {
    "invoicing-accounting": 212, "expense-management": 200, "personal-finance": 160, "payments": 230,
    "crm": 250, "project-management": 265, "team-chat": 280, "helpdesk": 195, "telehealth": 175,
    "fitness": 18, "habits-wellbeing": 150, "recipes-meal-planning": 28, "food-delivery": 12,
    "restaurant-operations": 8, "online-courses": 270, "language-learning": 140, "pet-services": 35,
    "property-management": 205, "rental-marketplace": 350, "freelance-marketplace": 130, "event-ticketing": 330,
    "monitoring": 220, "ai-writing": 290, "inventory": 45, "fleet-logistics": 30, "recruiting-hr": 240,
    "ecommerce": 320, "social-network": 215, "e-signature": 225, "scheduling": 185,
}


def _hls(h: float, lightness: float, s: float) -> str:
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, lightness, s)
    return rgb_to_hex((r * 255, g * 255, b * 255))


def propose(idea: dict, categories: list[str]) -> DesignProposal:
    hue = next((CATEGORY_HUES[c] for c in categories if c in CATEGORY_HUES), None)
    if hue is None:
        digest = hashlib.sha256(str(idea.get("title") or "app").encode("utf-8")).digest()
        hue = int.from_bytes(digest[:2], "big") % 360
    palette = Palette(
        primary=_hls(hue, 0.42, 0.65),
        on_primary="#ffffff",
        accent=_hls(hue + 150, 0.45, 0.70),
        on_accent="#ffffff",
        background=_hls(hue, 0.985, 0.30),
        surface=_hls(hue, 0.955, 0.25),
        text=_hls(hue, 0.13, 0.25),
        muted_text=_hls(hue, 0.45, 0.10),
        border=_hls(hue, 0.62, 0.12),
        danger="#c62828",
        success="#2e7d32",
    )
    return DesignProposal(
        name=shorten(f"{idea.get('title') or 'App'} design system", 60),
        tone="calm, legible, work-focused" if categories else "friendly and clear",
        palette=palette,
        font_family='system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
        heading_font_family='system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
        base_size_px=16,
        scale_ratio=1.25,
        spacing_base_px=4,
        radius_px=6,
    )


@builtin_task("design_system")
def _builtin(context: dict) -> DesignProposal:
    return propose(context["idea"], context.get("categories", []))


def enforce_contrast(colors: dict[str, str]) -> tuple[dict[str, str], list[dict], list[dict]]:
    """Adjust foreground colours until every pair in CONTRAST_PAIRS passes; returns (colors, checks, adjustments)."""
    colors = {k: v.lower() for k, v in colors.items()}
    original = dict(colors)
    for _round in range(10):
        changed = False
        for fg, bg, minimum, _usage in CONTRAST_PAIRS:
            if contrast_ratio(colors[fg], colors[bg]) < minimum:
                colors[fg], _steps = adjust_for_contrast(colors[fg], colors[bg], minimum)
                changed = True
        if not changed:
            break
    checks, seen = [], set()
    for fg, bg, minimum, usage in CONTRAST_PAIRS:
        if (fg, bg) in seen:
            continue
        seen.add((fg, bg))
        ratio = contrast_ratio(colors[fg], colors[bg])
        checks.append({
            "foreground": fg, "background": bg, "foreground_hex": colors[fg], "background_hex": colors[bg],
            "ratio": round(ratio, 2), "required": minimum, "level": "AA",
            "passes": ratio >= minimum, "usage": usage,
        })
    adjustments = [
        {"token": k, "from": original[k], "to": colors[k], "reason": "raised contrast to meet WCAG AA"}
        for k in sorted(colors) if colors[k] != original[k]
    ]
    return colors, checks, adjustments


def finalize(proposal: DesignProposal) -> dict:
    colors, checks, adjustments = enforce_contrast(proposal.palette.model_dump())
    base, ratio = proposal.base_size_px, proposal.scale_ratio
    steps = {"xs": -2, "sm": -1, "base": 0, "lg": 1, "xl": 2, "2xl": 3, "3xl": 4}
    scale = {name: round(base * ratio ** k, 2) for name, k in steps.items()}
    sp = proposal.spacing_base_px
    spacing = {str(i): sp * m for i, m in enumerate((0, 1, 2, 3, 4, 6, 8, 12, 16))}
    r = proposal.radius_px
    return {
        "name": proposal.name,
        "tone": proposal.tone,
        "colors": colors,
        "contrast": {
            "standard": "WCAG 2.2 AA (4.5:1 text, 3:1 non-text)",
            "pairs": checks,
            "all_pass": all(c["passes"] for c in checks),
            "min_ratio": min(c["ratio"] for c in checks),
        },
        "adjustments": adjustments,
        "typography": {
            "font_family": proposal.font_family,
            "heading_font_family": proposal.heading_font_family,
            "base_size_px": base,
            "scale_ratio": ratio,
            "scale": scale,
            "line_height": {"body": 1.5, "heading": 1.2},
            "weights": {"regular": 400, "bold": 700},
        },
        "spacing": spacing,
        "radius": {"sm": max(0, r // 2), "md": r, "lg": r * 2},
    }


def build_sitemap(spec: AppSpec) -> dict:
    """The pages of the spec a founder looks at (home, each entity's list with its form, each capability page),
    in the spec's navigation order; `entities` are the spec's, with each field's type and `source`."""
    ents = {e.name: e for e in spec.entities}
    pages = []
    for p in spec.pages:
        if p.kind == "home":
            pages.append({"id": p.id, "path": p.path, "title": p.title, "kind": "home",
                          "purpose": "Overview: a count card per collection, linking to each.",
                          "sections": ["top bar with navigation", "heading and tagline", "one card per collection"]})
        elif p.kind == "list" and p.entity in ents:
            e = ents[p.entity]
            pages.append({"id": p.id, "path": p.path, "title": p.title, "kind": "list", "entity": e.name,
                          "purpose": f"Create, list and delete {e.label_plural.lower()}.",
                          "sections": ["top bar with navigation", f"form: new {e.label.lower()}",
                                       f"table of {e.label_plural.lower()}"]})
        elif p.kind == "capability" and spec.capability(p.capability or "") is not None:
            cap = spec.capability(p.capability)
            entity = getattr(cap, "entity", None)
            pages.append({"id": p.id, "path": p.path, "title": p.title, "kind": "capability",
                          "capability": cap.id, "capability_kind": cap.kind, "purpose": cap.label,
                          **({"entity": entity} if entity in ents else {}),
                          "sections": ["top bar with navigation", f"{cap.kind.replace('_', ' ')}: {cap.label}"]})
    ids = [p["id"] for p in pages]
    navigation = [n.page for n in spec.navigation if n.page in ids]
    return {
        "app_name": spec.name,
        "pages": pages,
        "navigation": navigation + [i for i in ids if i not in navigation and i == "home"],
        "entities": [e.model_dump(mode="json") for e in spec.entities],
    }


# ------------------------------------------------------------------ wireframes

W, H = 1200, 800


def _text(x, y, s, size=16, weight="normal", fill="#333333", anchor="start") -> str:
    return (f'<text x="{x}" y="{y}" font-family="sans-serif" font-size="{size}" font-weight="{weight}" '
            f'fill={quoteattr(fill)} text-anchor="{anchor}">{escape(shorten(s, 60))}</text>')


def _rect(x, y, w, h, fill="#ffffff", stroke="#999999", rx=4) -> str:
    return f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill={quoteattr(fill)} stroke={quoteattr(stroke)}/>'


def wireframe(page: dict, sitemap: dict, design: dict) -> str:
    c = design["colors"]
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
         f'aria-label={quoteattr("Wireframe: " + page["title"])}>'),
        f'<title>{escape("Wireframe: " + page["title"])}</title>',
        _rect(0, 0, W, H, fill=c["background"], stroke=c["border"], rx=0),
        _rect(0, 0, W, 56, fill=c["primary"], stroke=c["primary"], rx=0),
        _text(24, 36, sitemap["app_name"], size=20, weight="bold", fill=c["on_primary"]),
    ]
    x = 420
    for pid in sitemap["navigation"][:8]:
        title = next(p["title"] for p in sitemap["pages"] if p["id"] == pid)
        weight = "bold" if pid == page["id"] else "normal"
        parts.append(_text(x, 34, title, size=14, weight=weight, fill=c["on_primary"]))
        x += 10 + 9 * min(len(title), 14)
    parts.append(_text(40, 104, page["title"], size=28, weight="bold", fill=c["text"]))
    entity = next((e for e in sitemap["entities"] if e["name"] == page.get("entity")), None)
    if page.get("kind") == "capability":
        parts.append(_text(40, 134, page["purpose"], size=14, fill=c["muted_text"]))
        parts.append(_rect(40, 160, 1120, 420, fill=c["surface"], stroke=c["border"]))
        parts.append(_text(60, 200, page["capability_kind"].replace("_", " ").capitalize(), size=18, weight="bold",
                           fill=c["text"]))
        cols = (entity or {}).get("fields", [])[:6]
        colw = 1000 // max(1, len(cols))
        for i, f in enumerate(cols):
            parts.append(_text(76 + i * colw, 246, f["label"], size=13, weight="bold", fill=c["text"]))
        for r in range(4):
            parts.append(_rect(60, 260 + r * 48, 1080, 40, fill=c["background"], stroke=c["border"], rx=0))
        parts.append(_rect(60, 520, 180, 36, fill=c["primary"], stroke=c["primary"]))
        parts.append(_text(150, 544, page["title"], size=14, fill=c["on_primary"], anchor="middle"))
    elif page.get("kind") == "home":
        parts.append(_text(40, 134, "Overview of every collection", size=14, fill=c["muted_text"]))
        ents = sitemap["entities"]
        for i, e in enumerate(ents):
            cx = 40 + (i % 4) * 280
            cy = 160 + (i // 4) * 150
            parts.append(_rect(cx, cy, 260, 130, fill=c["surface"], stroke=c["border"]))
            parts.append(_text(cx + 20, cy + 60, "123", size=32, weight="bold", fill=c["text"]))
            parts.append(_text(cx + 20, cy + 100, e["label_plural"], size=16, fill=c["text"]))
    else:
        fields = entity["fields"]
        form_h = 90 + 70 * ((len(fields) + 3) // 4)
        parts.append(_rect(40, 130, 1120, form_h, fill=c["surface"], stroke=c["border"]))
        for i, f in enumerate(fields):
            fx = 60 + (i % 4) * 275
            fy = 160 + (i // 4) * 70
            parts.append(_text(fx, fy, f["label"] + (" *" if f["required"] else ""), size=13, fill=c["text"]))
            parts.append(_rect(fx, fy + 8, 250, 32, fill=c["background"], stroke=c["border"]))
        by = 130 + form_h - 54
        parts.append(_rect(60, by, 160, 36, fill=c["primary"], stroke=c["primary"]))
        parts.append(_text(140, by + 24, "Add " + entity["label"].lower(), size=14, fill=c["on_primary"], anchor="middle"))
        ty = 130 + form_h + 30
        parts.append(_rect(40, ty, 1120, 40, fill=c["surface"], stroke=c["border"], rx=0))
        cols = fields[:6]
        colw = 1000 // max(1, len(cols))
        for i, f in enumerate(cols):
            parts.append(_text(56 + i * colw, ty + 26, f["label"], size=13, weight="bold", fill=c["text"]))
        for r in range(4):
            ry = ty + 40 + r * 40
            if ry + 40 > H - 10:
                break
            parts.append(_rect(40, ry, 1120, 40, fill=c["background"], stroke=c["border"], rx=0))
            parts.append(_text(1090, ry + 26, "Delete", size=13, fill=c["danger"]))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------ stage


def run(inp, config, gen) -> StageOutput:
    idea = inp.idea or {}
    validation = inp.prior.get("idea_validation", {})
    stack = inp.prior.get("tech_stack", {})
    needs = detect_needs(idea)
    if stack.get("needs") is not None:
        needs = {n: {"detected": n in stack["needs"], "evidence": needs.get(n, {}).get("evidence", [])} for n in needs}
    detected = [n for n, v in needs.items() if v["detected"]]
    stored = specstore.current(inp.artifacts, idea)
    if stored is None:  # the one planning step of the run
        spec, history = specstore.plan(idea, detected, gen, stage=STAGE, attempt=inp.attempt)
        origin = "planned"
    else:  # this stage ran before, or development repaired the spec: draw what is stored
        spec, history, origin = stored.spec, stored.history, "stored"
    context = {"idea": idea, "categories": validation.get("categories", []), "needs": detected,
               "entities": [e.name for e in spec.entities]}
    proposal = gen.generate("design_system", context, DesignProposal)
    design = finalize(proposal)
    sitemap = build_sitemap(spec)
    artifacts = {
        "design-system.json": json_bytes(design),
        "sitemap.json": json_bytes(sitemap),
        specstore.SPEC_ARTIFACT: specstore.spec_bytes(spec),
        specstore.HISTORY_ARTIFACT: json_bytes(history),
    }
    for page in sitemap["pages"]:
        artifacts[f"wireframes/{page['id'].replace('_', '-')}.svg"] = wireframe(page, sitemap, design).encode("utf-8")
    summary = {
        "palette": design["colors"],
        "contrast": {"all_pass": design["contrast"]["all_pass"], "min_ratio": design["contrast"]["min_ratio"],
                     "pairs_checked": len(design["contrast"]["pairs"]),
                     "adjusted": [a["token"] for a in design["adjustments"]]},
        "pages": [p["id"] for p in sitemap["pages"]],
        "entities": [e.name for e in spec.entities],
        "wireframes": len(sitemap["pages"]),
        "spec": {"revision": int(history.get("revision") or 1), "sha256": specstore.spec_sha256(spec), "origin": origin},
    }
    if not design["contrast"]["all_pass"]:  # cannot happen: black or white always reaches 4.5:1
        return StageOutput("reject", summary, artifacts, reason="could not reach WCAG AA contrast")
    return StageOutput("ok", summary, artifacts)
