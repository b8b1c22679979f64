"""Criteria set up the rows a scenario needs as an actor that can see them: a writer that reads only its own
parents (or resources) makes them itself, since a row the owner made would be missing to it, and the criterion
would fail on its own set-up rather than on the rule it checks."""

from __future__ import annotations

from shared.engine.appspec import Criterion
from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.criteria import cid, compile_criterion
from shared.engine.criteria.kinds import DERIVE

from .capabilities._ops_specs import build, entity, f, role


def _trips(cap: dict) -> AppSpec:
    trip = entity("trip", "trips", [f("destination", required=True), f("run_on", "date")])
    room = entity("room", "rooms", [f("name", required=True)])
    seat = entity("seat_hold", "seat_holds", [f("note"), f("trip_id", "reference", ref="trip", required=True)])
    use = entity("room_use", "room_uses", [f("note"), f("room_id", "reference", ref="room", required=True),
                                           f("start_at", "datetime", required=True),
                                           f("end_at", "datetime", required=True)])
    names = ["trip", "room", "seat_hold", "room_use"]
    rider = {**role("rider", names, names, scope="own"), "read_own": list(names)}
    spec = AppSpec.model_validate(build("Trips", "Riders hold seats on trips and use rooms.",
                                        [trip, room, seat, use], [rider], [cap], default_role="rider"))
    assert spec_problems(spec) == []
    return spec


def _steps(spec: AppSpec) -> list[dict]:
    cap = spec.capabilities[0]
    steps = []
    for n, c in enumerate(DERIVE[cap.kind](cap, spec, None, cap.label)):
        crit = Criterion(id=cid(cap.id, str(n)), capability=cap.id, **c)
        steps += compile_criterion(spec, crit, cap.label)["steps"]
    return steps


def _makers(steps: list[dict], path: str) -> set[str]:
    return {s["as"] for s in steps if s["method"] == "POST" and s["path"] == path}


def test_a_limit_per_parent_has_its_parents_made_by_a_writer_that_reads_only_its_own():
    spec = _trips({"kind": "limit", "id": "seats_per_trip", "label": "Each trip takes no more than 3 riders",
                   "entity": "seat_hold", "scope": "parent", "parent_field": "trip_id", "max": 3,
                   "on_excess": "refuse"})
    steps = _steps(spec)
    writers = _makers(steps, "/api/seat_holds")
    assert writers and "owner" not in writers
    assert _makers(steps, "/api/trips") <= writers  # the trips are the rider's own, so the rider can add to them


def test_a_booking_has_its_resources_made_by_a_writer_that_reads_only_its_own():
    spec = _trips({"kind": "booking", "id": "room_uses", "label": "Riders book rooms", "entity": "room_use",
                   "resource": "room", "resource_field": "room_id", "start_field": "start_at",
                   "end_field": "end_at"})
    steps = _steps(spec)
    writers = _makers(steps, "/api/room_uses")
    assert writers and "owner" not in writers
    assert _makers(steps, "/api/rooms") <= writers
