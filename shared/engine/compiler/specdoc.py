"""`spec_markdown(spec)`: the app spec rendered for people (the artifact app-spec.md)."""

from __future__ import annotations

from ..appspec import AppSpec


def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def spec_markdown(spec: AppSpec) -> str:
    lines = [f"# {spec.name} — app spec v{spec.version}", "", f"*{spec.tagline}*", "", spec.purpose, "",
             "## Feature trace", "", "| key feature | status | capabilities | entities | reason |",
             "| --- | --- | --- | --- | --- |"]
    for t in spec.trace:
        lines.append(f"| {_cell(t.feature)} | {t.status} | {', '.join(t.capabilities) or '–'} | "
                     f"{', '.join(t.entities) or '–'} | {_cell(t.reason or '')} |")
    lines += ["", "## How each key feature reads", "",
              "Every content word of a feature is accounted for: what it maps to in this spec, or *unread* when "
              "nothing here realises it. A feature is planned only when no word is unread and every rule it states "
              "is carried by a capability with the same numbers and nouns; QA then runs its acceptance criteria "
              "against the app.", ""]
    for t in spec.trace:
        lines += [f"### {t.feature} — {t.status.replace('_', ' ')}", ""]
        if t.built_as:
            lines.append(t.built_as)
        if t.not_built:
            lines.append("Not built: " + "; ".join(t.not_built) + ".")
        if t.status == "not_covered" and t.reason:
            lines.append(f"Not covered: {t.reason}")
        r = t.reading
        if r is not None:
            who = ", ".join(r.actors) or "–"
            lines += ["", f"- actors: {who}; action: {r.action or '–'}; record: {r.record or '–'}; attributes: "
                          f"{', '.join(r.attributes) or '–'}; links: {', '.join(r.links) or '–'}"]
            for i, rule in enumerate(r.rules):
                num = f", number {rule.number:g}" if rule.number is not None else ""
                unit = f" {rule.unit}" if rule.unit else ""
                nouns = f", about {', '.join(rule.nouns)}" if rule.nouns else ""
                lines.append(f"- rule {i} ({rule.category}): “{rule.words}”{num}{unit}{nouns}")
            for e in r.effects:
                extra = "".join(f", {k} {v}" for k, v in (("to", e.recipient), ("by", e.channel)) if v)
                lines.append(f"- effect ({e.kind}): “{e.words}”{extra}")
            lines.append("- words: " + ", ".join(f"{u.word} → {u.maps_to}" for u in r.words))
        if t.criteria:
            lines += ["", "Acceptance criteria:"] + [f"- {c.text}" + (
                f" (exercises rule {', '.join(map(str, c.rules))})" if c.rules else "") for c in t.criteria]
        lines.append("")
    lines += ["", "## Roles", "", "| role | reads | writes | scope | manages users | from the idea |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in spec.roles:
        lines.append(f"| {r.label} (`{r.name}`){' — default' if r.name == spec.default_role else ''} | "
                     f"{', '.join(r.read) or '–'} | {', '.join(r.write) or '–'} | {r.scope} | "
                     f"{'yes' if r.manage_users else 'no'} | {_cell(r.source)} |")
    lines += ["", "## Entities", ""]
    for e in spec.entities:
        lines += [f"### {e.label} (`{e.name}`, table `{e.plural}`)", ""]
        if e.source:
            lines += [f"From the idea: “{e.source}”", ""]
        lines += ["| field | type | required | unique | limits | from the idea |", "| --- | --- | --- | --- | --- | --- |"]
        for f in e.fields:
            kind = f"reference → {f.ref}" if f.type == "reference" else (
                f"enum ({', '.join(f.values)})" if f.type == "enum" else f.type)
            limits = ", ".join(x for x in (f"min {f.min:g}" if f.min is not None else "",
                                           f"max {f.max:g}" if f.max is not None else "",
                                           f"default {f.default}" if f.default is not None else "") if x)
            lines.append(f"| {f.label} (`{f.name}`){' — shown as title' if f.name == e.display_field else ''} | "
                         f"{kind} | {'yes' if f.required else 'no'} | {'yes' if f.unique else 'no'} | "
                         f"{limits or '–'} | {_cell(f.source)} |")
        lines.append("")
    if spec.relations:
        lines += ["## Relations", ""]
        for rel in spec.relations:
            how = f"via `{rel.field}`" if rel.kind == "many_to_one" else f"through `{rel.through}`"
            lines.append(f"- {rel.entity} → {rel.target}: {rel.kind.replace('_', '-')} {how}")
        lines.append("")
    lines += ["## Capabilities", ""]
    if not spec.capabilities:
        lines += ["None.", ""]
    for c in spec.capabilities:
        params = {k: v for k, v in c.model_dump(mode="json").items() if k not in ("id", "label", "kind", "routes")}
        lines += [f"### {c.label} (`{c.id}`, kind `{c.kind}`)", "",
                  "Parameters: " + ("; ".join(f"{k} = {v}" for k, v in params.items()) or "none"), ""]
        for r in c.routes:
            lines.append(f"- `{r.method} {r.path}` — {r.summary} (roles: {', '.join(r.roles) or 'public'})")
        lines.append("")
    if spec.pages:
        lines += ["## Pages", ""] + [f"- `{p.path}` — {p.title} ({p.kind})" for p in spec.pages] + [""]
    return "\n".join(lines)
