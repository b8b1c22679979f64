"""Absurd input is a 4xx with a sentence, never a 500: ids beyond what an id column holds, numbers with absurd
exponents or lengths, deeply nested JSON, non-ASCII digits in paging; and the schema is for signed-in users only."""

import unittest

from app.spec_data import ENTITIES, OWNER_ROLE, ROLES

from tests.support import AppTestCase

OWNER = ROLES[OWNER_ROLE]
READABLE = next(n for n in ENTITIES if n in OWNER["read"] or n in OWNER["write"])
WRITABLE = next(n for n in ENTITIES if n in OWNER["write"])
# just beyond an INTEGER id column (Postgres: a driver error, a 500, if it reached the database), beyond 64 bits, absurd
HUGE_IDS = (str(2**31), "99999999999", "99999999999999999999", str(2**63), "9" * 5000)


JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


class InputLimitsTest(AppTestCase):
    def setUp(self):
        super().setUp()
        self.owner = self.login("owner")

    def assert_refused(self, response, status=400, code="invalid", field=None):
        self.assertEqual(response.status_code, status, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        self.assertEqual(error["code"], code)
        self.assertTrue(error["message"])
        if field is not None:
            self.assertIn(field, error["details"])

    def test_abuse_ids_the_database_cannot_hold_are_not_found(self):
        plural = ENTITIES[READABLE]["plural"]
        for raw in HUGE_IDS:
            for method in ("GET", "PATCH", "DELETE"):
                with self.subTest(id=raw[:25], method=method):
                    r = self.call(self.owner, method, f"/api/{plural}/{raw}", json={})
                    self.assert_refused(r, 404, "not_found")
            self.assertEqual(self.owner.get(f"/{plural}/{raw}").status_code, 404)
        r = self.owner.get(f"/api/{plural}/{2**31 - 1}")  # the largest id: a lookup, not a crash
        self.assert_refused(r, 404, "not_found")

    def test_abuse_out_of_range_filters_and_paging_are_refused(self):
        base = f"/api/{ENTITIES[READABLE]['plural']}"
        for raw in HUGE_IDS:
            self.assert_refused(self.owner.get(base, query_string={"owner_id": raw}), field="owner_id")
            self.assert_refused(self.owner.get(base, query_string={"page": raw}), field="page")
        for raw in ("\u00b2", "\u0661", "1\u00b2"):  # digits that str.isdigit() accepts and int() may not
            self.assert_refused(self.owner.get(base, query_string={"page": raw}), field="page")
            self.assert_refused(self.owner.get(base, query_string={"owner_id": raw}), field="owner_id")

    def test_abuse_integers_beyond_64_bits_in_json_are_refused(self):
        base = f"/api/{ENTITIES[WRITABLE]['plural']}"
        field = ENTITIES[WRITABLE]["fields"][0]["name"]
        before = self.owner.get(base).get_json()["total"]
        for number in (b"1" + b"0" * 400, b"-" + b"9" * 30, b"9" * 5000):
            with self.subTest(digits=len(number)):
                body = b'{"' + field.encode() + b'": ' + number + b"}"
                r = self.call(self.owner, "POST", base, data=body, headers=JSON)
                self.assert_refused(r, field=field)
        self.assertEqual(self.owner.get(base).get_json()["total"], before)

    def test_abuse_deep_json_is_refused(self):
        base = f"/api/{ENTITIES[WRITABLE]['plural']}"
        for depth in (33, 2000, 200_000):
            with self.subTest(depth=depth):
                r = self.call(self.owner, "POST", base, data=nested(depth), headers=JSON)
                self.assert_refused(r, code="too_deep")
        deep_field = b'{"x": ' + nested(40) + b"}"
        r = self.call(self.owner, "POST", base, data=deep_field, headers=JSON)
        self.assert_refused(r, code="too_deep", field="x")
        r = self.call(self.owner, "POST", base, data=nested(32), headers=JSON)
        self.assert_refused(r)  # 32 levels parse; the list is then refused as not a record

    def test_abuse_numbers_with_absurd_exponents_or_lengths_are_refused(self):
        from app.validation import FieldError, parse_value

        for bad in (10**400, "1e400", "-1e400", "1" * 1000, "9" * 41, "1e16", float("inf"), float("nan"), "NaN"):
            with self.subTest(value=str(bad)[:20]):
                with self.assertRaises(FieldError):
                    parse_value({"type": "decimal", "name": "x"}, bad)
        self.assertEqual(parse_value({"type": "decimal", "name": "x"}, "1e-400"), 0.0)
        self.assertEqual(parse_value({"type": "decimal", "name": "x"}, "12.5"), 12.5)
        for bad in (10**400, 2**63, "9" * 19, 1e300):
            with self.subTest(value=str(bad)[:20]), self.assertRaises(FieldError):
                parse_value({"type": "integer", "name": "n"}, bad)
        numeric = [f["name"] for f in ENTITIES[WRITABLE]["fields"] if f["type"] in ("decimal", "money", "integer")]
        base = f"/api/{ENTITIES[WRITABLE]['plural']}"
        for name in numeric:
            for bad in ("1e400", "9" * 1000, "1E999999999"):
                with self.subTest(field=name, value=bad[:20]):
                    self.assert_refused(self.call(self.owner, "POST", base, json={name: bad}), field=name)

    def test_schema_needs_a_session(self):
        r = self.anon.get("/api/schema")
        self.assert_refused(r, 401, "login_required")
        self.assertNotIn("routes", r.get_data(as_text=True))
        self.assertIn("routes", self.owner.get("/api/schema").get_json())


if __name__ == "__main__":
    unittest.main()
