"""Planner builder for the `import` kind: "Import members from a spreadsheet", "upload products as CSV (by SKU)".

`b_import(ctx)` binds the records the file's rows become (the object of "import"/"upload", or the feature's main
record; never the file itself), the key fields that find a row again on a re-run (fields the words name after
"by"/"per"/"using"/"matched on", else an email, else a code-like field, else a required reference with a date:
"an inspection of a hive on a day"), whether a matching row is updated or skipped, whether a bad row stops the
whole file or only itself, and the row cap the words state ("up to 500 rows"). When nothing can identify a row it
raises `NotFit`: an import that cannot find its rows again would add them twice.
"""

from __future__ import annotations

import re

#: nouns that name the file, not the records in it
FILE_NOUNS = frozenset({"spreadsheet", "sheet", "csv", "excel", "file", "json", "upload", "import", "list", "batch",
                        "workbook", "export", "data", "row", "line"})
#: field name endings that name one record ("sku", "member_number", "registration", "isbn")
CODE_LIKE = ("sku", "code", "number", "no", "ref", "reference", "registration", "isbn", "serial", "barcode", "tag",
             "plate", "licence", "license", "handle", "username", "slug", "identifier")
KEY_TYPES = ("text", "email", "phone", "url", "integer", "date", "datetime", "enum", "reference")
_VERBS = ("import", "upload", "load", "bring", "migrate", "add")


def _entity(ctx) -> str:
    from .capmap import NotFit, _main
    from .draft import safe_name

    d = ctx.draft
    objects = [safe_name(it.name) for it in ctx.interps if it.np and it.np.prep is None
               and it.np.after_verb in _VERBS and safe_name(it.name) in d.entities]
    named = [m for m in ctx.mentioned if m in d.entities and not d.entities[m].join]
    for name in objects + named + ([_main(ctx, prefer_things=True)] if d.entities else []):
        if name in d.entities and name.split("_")[-1] not in FILE_NOUNS and not d.entities[name].join:
            return name
    raise NotFit("the words do not say which records the file's rows become (members, products, inspections)")


def _named_keys(ctx, ent: str) -> list[str]:
    """Fields of `ent` the words name right after "by", "per", "using", "on", "with the same" or "unique"."""
    d = ctx.draft
    fields = [f for f in d.fields_of(ent) if f.type in KEY_TYPES]
    out: list[str] = []
    for m in re.finditer(r"\b(?:by|per|using|on|same|unique|keyed|matched|match|identified)\s+(?:their |its |the "
                         r"|a |an |each )?([a-z][a-z -]{1,40})", ctx.low):
        words = re.findall(r"[a-z]+", m.group(1))[:3]
        for f in fields:
            parts = [p for p in f.name.removesuffix("_id").split("_") if p]
            if parts and all(p in words or p + "s" in words for p in parts) and f.name not in out:
                out.append(f.name)
    return out[:3]


def _default_keys(ctx, ent: str) -> list[str]:
    d = ctx.draft
    fields = list(d.entities[ent].fields.values())
    email = next((f.name for f in fields if f.type == "email"), None)
    if email:
        return [email]
    code = next((f.name for f in fields if f.type in ("text", "integer") and f.name.split("_")[-1] in CODE_LIKE),
                None)
    if code:
        return [code]
    ref = next((f.name for f in fields if f.type == "reference" and f.required), None) or next(
        (f.name for f in fields if f.type == "reference"), None)
    when = next((f.name for f in fields if f.type in ("date", "datetime") and f.required), None) or next(
        (f.name for f in fields if f.type in ("date", "datetime")), None)
    if ref and when:
        return [ref, when]
    return []


def _listed_key(ctx, ent: str) -> list[str]:
    """ "Import the ewe list from a CSV of ear tag numbers": the file lists the code that names each record, which
    is then the record's key (a text field, added when the record has none)."""
    from .capmap import _ensure
    from .draft import ident
    from .text import singular

    m = re.search(r"\b(?:csv|spreadsheet|file|list|sheet|export)s?(?: file)? of (?:their |the |its |our )?"
                  r"([a-z][a-z -]{1,40}?)\s*(?:$|[,.;]|\b(?:with|from|and|by|into)\b)", ctx.low)
    if not m:
        return []
    words = m.group(1).split()
    if not words or len(words) > 4 or singular(words[-1]) not in CODE_LIKE:
        return []
    name = ident(" ".join([*words[:-1], singular(words[-1])]))[:40]
    if name not in ctx.draft.entities[ent].fields:
        name = _ensure(ctx, ent, name, "text", required=True)
    return [name] if name in ctx.draft.entities[ent].fields else []


def b_import(ctx) -> dict:
    from .capmap import NotFit, label_of

    d = ctx.draft
    ent = _entity(ctx)
    keys = _named_keys(ctx, ent) or _listed_key(ctx, ent)
    if keys and all(d.entities[ent].fields[k].type in ("enum", "reference") for k in keys):
        keys += [k for k in _default_keys(ctx, ent) if k not in keys][:3 - len(keys)]
    keys = keys or _default_keys(ctx, ent)
    if not keys or all(d.entities[ent].fields[k].type in ("enum", "reference") for k in keys):
        raise NotFit(f"the words do not say what identifies a {label_of(ent)} (an email, a code or a number), so "
                     f"importing the same file twice would add its rows twice")
    for k in keys:  # a key a row cannot leave empty
        d.entities[ent].fields[k].required = True
    skip = ctx.has(r"skip\w*|ignor\w*|only new|keep (the )?existing|leave (the )?existing|never overwrit\w*")
    per_row = ctx.has(r"(skip|ignore|drop)\w* (the )?(bad|invalid|wrong|broken) (rows?|lines?)|"
                      r"(keep|save|import)\w* (the )?(good|valid) (rows?|lines?)|partial\w*")
    cap = re.search(r"\b(?:up to|at most|no more than|max(?:imum)?(?: of)?)\s+(\d{1,4})\s+(?:rows?|lines?|records?|"
                    + re.escape(ent.replace("_", " ")) + r"s?)\b", ctx.low)
    out: dict = {"entity": ent, "key_fields": keys, "on_match": "skip" if skip else "update",
                 "commit": "per_row" if per_row else "all_or_nothing", "columns": {}, "match_by": {}, "roles": []}
    if cap and 1 <= int(cap.group(1)) <= 5000:
        out["max_rows"] = int(cap.group(1))
    return out
