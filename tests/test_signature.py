import base64
import hashlib
import hmac
from unittest.mock import patch

from odoo.tests.common import BaseCase

from ..basware import DEFAULT_SIGNATURE_HEADER, sign_body, verify_signature
from ..basware import signature as signature_module

SECRET = "whsec-test-3f9a"
BODY = (
    b'{"taskId":"eb9ea3fa-69de-4a5a-8a1a-f4347cd18626","taskStatus":"New",'
    b'"taskType":"AccountingDocuments","taskSubType":"WaitingForTransfer",'
    b'"documentId":"63255782d0a04d8d8defcc6a0062101d"}'
)


def _reference_digest(body, secret):
    """HMAC-SHA256 computed here, independently of the module under test."""
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


class TestSignature(BaseCase):
    """Webhook signature verification, DB-free."""

    def test_sign_body_matches_rfc4231_vector(self):
        # RFC 4231, test case 2.
        self.assertEqual(
            sign_body(b"what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        )

    def test_default_header_name(self):
        self.assertEqual(DEFAULT_SIGNATURE_HEADER, "X-BWAPI-Signature-256")

    def test_accepted_encodings(self):
        digest = _reference_digest(BODY, SECRET)
        forms = {
            "hex lower": digest.hex(),
            "hex upper": digest.hex().upper(),
            "prefixed hex": "sha256=" + digest.hex(),
            "upper prefix": "SHA256=" + digest.hex().upper(),
            "base64": base64.b64encode(digest).decode(),
            "prefixed base64": "sha256=" + base64.b64encode(digest).decode(),
            "base64url unpadded": base64.urlsafe_b64encode(digest).decode().rstrip("="),
            "padded with spaces": "  " + digest.hex() + " ",
        }
        for name, header in forms.items():
            with self.subTest(name):
                self.assertTrue(verify_signature(BODY, header, SECRET))

    def test_tampered_body_fails(self):
        header = sign_body(BODY, SECRET)
        tampered = BODY.replace(b"WaitingForTransfer", b"WaitingForPrebook")
        self.assertFalse(verify_signature(tampered, header, SECRET))
        self.assertFalse(verify_signature(BODY + b" ", header, SECRET))

    def test_wrong_secret_fails(self):
        header = sign_body(BODY, SECRET)
        self.assertFalse(verify_signature(BODY, header, SECRET + "x"))

    def test_missing_header_fails_closed(self):
        for header in (None, "", "   ", "sha256="):
            with self.subTest(header=header):
                self.assertFalse(verify_signature(BODY, header, SECRET))

    def test_missing_secret_fails_closed(self):
        # Even the signature of the body keyed with an empty secret is refused.
        header = _reference_digest(BODY, "").hex()
        for secret in (None, ""):
            with self.subTest(secret=secret):
                self.assertFalse(verify_signature(BODY, header, secret))

    def test_malformed_or_truncated_signatures_fail(self):
        digest = _reference_digest(BODY, SECRET)
        for header in (
            digest.hex()[:-2],
            digest.hex() + "00",
            "sha1=" + digest.hex(),
            "not a signature",
            base64.b64encode(digest[:-1]).decode(),
            "é" * 64,
        ):
            with self.subTest(header=header):
                self.assertFalse(verify_signature(BODY, header, SECRET))

    def test_text_body_is_signed_as_utf8(self):
        text = BODY.decode() + "é"
        header = _reference_digest(text.encode("utf-8"), SECRET).hex()
        self.assertTrue(verify_signature(text, header, SECRET))

    def test_comparison_is_constant_time(self):
        header = sign_body(BODY, SECRET)
        with patch.object(
            signature_module.hmac, "compare_digest", wraps=hmac.compare_digest
        ) as compare:
            self.assertTrue(verify_signature(BODY, header, SECRET))
            self.assertFalse(verify_signature(BODY, "0" * 64, SECRET))
        self.assertGreaterEqual(compare.call_count, 2)
