"""The queue's pure logic, without the ORM: what a stored payload masks, and when a
failed exchange is tried again."""

import json
from datetime import datetime, timedelta

from odoo.tests.common import BaseCase

from ..basware.redaction import REDACTED, holds_secrets, names_secret_word, redact, to_json_text
from ..basware.retry import RetryPolicy

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
CREATED = datetime(2025, 1, 1)


class TestRedaction(BaseCase):
    def test_secret_keys_are_masked_at_any_depth(self):
        value = {"name": "x", "client_secret": "s3cr3t", "nested": [{"Access_Token": "t0k"}]}
        self.assertEqual(
            redact(value),
            {"name": "x", "client_secret": REDACTED, "nested": [{"Access_Token": REDACTED}]},
        )
        self.assertEqual(value["client_secret"], "s3cr3t", "the value itself is left alone")

    def test_credential_values_are_masked_whatever_their_key(self):
        masked = redact(
            {
                "note": JWT,
                "header": "Bearer 8f2b6c0d9e4a4b7f9a1c3e5d7b9f0a2c",
                "rows": [{"value": f"  {JWT} "}],
                "name": "Bearer Logistics",
                "description": "Basic services",
            }
        )
        self.assertEqual(masked["note"], REDACTED)
        self.assertEqual(masked["header"], REDACTED)
        self.assertEqual(masked["rows"][0]["value"], REDACTED)
        self.assertEqual(masked["name"], "Bearer Logistics")
        self.assertEqual(masked["description"], "Basic services")

    def test_secret_words_are_found_in_any_case_and_lookalike(self):
        self.assertTrue(names_secret_word('{"PassWord": 1}'))
        self.assertTrue(names_secret_word('{"to\u212aen": 1}'), "the Kelvin sign is a k")
        self.assertFalse(names_secret_word('{"name": "Paper"}'))

    def test_stored_text_never_holds_a_secret(self):
        self.assertIs(to_json_text(None), False)
        self.assertIs(to_json_text(""), False)
        stored = to_json_text({"rows": [{"api_key": "k3y"}], "note": JWT})
        self.assertNotIn("k3y", stored)
        self.assertNotIn(JWT, stored)
        self.assertFalse(holds_secrets(stored))
        # Already masked by the caller: stored as given.
        self.assertEqual(json.loads(to_json_text({"token": "t"}, redacted=True)), {"token": "t"})


class TestRetryPolicy(BaseCase):
    def test_delay_grows_and_stays_under_the_cap(self):
        policy = RetryPolicy(base=60, cap=600, max_attempts=5)
        first, later = policy.delay(1), policy.delay(10)
        self.assertTrue(30 <= first <= 60, first)
        self.assertTrue(300 <= later <= 600, later)

    def test_retry_after_wins_up_to_the_cap(self):
        policy = RetryPolicy(base=60, cap=600, max_attempts=5)
        self.assertEqual(policy.delay(1, retry_after=500), 500)
        self.assertEqual(policy.delay(1, retry_after=1e12), 600)
        self.assertLessEqual(policy.delay(1, retry_after=float("inf")), 60)

    def test_gives_up_after_max_attempts(self):
        policy = RetryPolicy(base=60, cap=600, max_attempts=3)
        self.assertFalse(policy.gives_up(2, CREATED, CREATED))
        self.assertTrue(policy.gives_up(3, CREATED, CREATED))

    def test_gives_up_past_the_horizon_whatever_the_attempts(self):
        policy = RetryPolicy(base=60, cap=3600, horizon=timedelta(hours=24))
        self.assertFalse(policy.gives_up(100, CREATED, CREATED + timedelta(hours=23)))
        self.assertTrue(policy.gives_up(1, CREATED, CREATED + timedelta(hours=25)))
