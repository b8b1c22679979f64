"""Capability `follow`: Users follow a tag, topic or record and are notified when a matching record appears."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "follow"


class Params(CapabilityBase):
    kind: Literal["follow"] = "follow"
    entity: Name = Field(description="records that appear")
    topic_field: Name | None = Field(default=None, description="text/enum/reference field followed; None = follow a record")


PACKAGES: list[str] = []

TOPIC_TYPES = ("text", "enum", "reference")


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    m = b.entity_problem(spec, cap.entity, "followed entity")
    if m:
        return [m]
    p = [x for x in (b.field_problem(spec, cap.entity, cap.topic_field, "topic_field", TOPIC_TYPES),) if x]
    if not b.readers(spec, cap.entity):
        p.append(f"no role may read {cap.entity!r}, so nobody could follow it; add it to a role's read list")
    if not b.writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so no record would ever appear to notify about; add it "
                 f"to a role's write list")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    r = b.readers(spec, cap.entity)
    a = f"/api/{cap.id}"
    what = f"{{topic}} ({cap.topic_field}) or {{record_id}}" if cap.topic_field else "{record_id}"
    return [
        Route(method="POST", path=f"{a}/follows", summary=f"follow {what}", roles=r),
        Route(method="GET", path=f"{a}/follows", summary="what I follow", roles=r),
        Route(method="DELETE", path=f"{a}/follows/<int:follow_id>", summary="stop following", roles=r),
        Route(method="GET", path=f"{a}/notifications", summary="my notifications, newest first (unread=1)", roles=r),
        Route(method="POST", path=f"{a}/notifications/read", summary="mark my notifications read ({ids} or all)",
              roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="notifications page with follow form", roles=r),
        Route(method="POST", path=f"/{cap.id}/follow", summary="follow form submit", roles=r),
        Route(method="POST", path=f"/{cap.id}/read", summary="mark all read (form)", roles=r),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    e = spec.entity(cap.entity)
    readers = b.readers(spec, cap.entity)
    topic = e.field(cap.topic_field) if cap.topic_field else None
    # the field the tests PATCH to change a record: never one another capability guards (a workflow state)
    bound = {getattr(c, "state_field", None) for c in spec.capabilities if getattr(c, "entity", None) == e.name}
    free = [f for f in e.fields if f.name not in bound and f.name != cap.topic_field
            and f.type not in ("reference", "file", "boolean", "datetime")]
    others = [f for f in free if f.name != e.display_field and not f.unique]
    patch_field = (next((f for f in others if f.type in ("text", "long_text")), None)
                   or next((f for f in others if f.type != "enum"), None)
                   or next((f for f in free if f.name == e.display_field), None)
                   or next(iter(others), None))
    ctx = {
        "ent": e, "readers": readers, "topic": topic,
        "topic_ref": spec.entity(topic.ref) if topic is not None and topic.type == "reference" else None,
        "writer": b.writer_role(spec, cap.entity),
        "follower": next((r for r in readers if r not in ("owner",)), "owner"),
        "outsider": next((r.name for r in spec.roles if r.name not in readers), None),
        "patch_field": patch_field,
        "patch_is_display": patch_field is not None and patch_field.name == e.display_field,
    }
    d = "capabilities/follow/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
