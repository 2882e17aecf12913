"""Each outbound record is encoded once: the bytes hashed, stored on the exchange and sent
to Basware are the same. Secrets are still refused or masked, without walking through the
payloads that name no secret-looking word."""

import hashlib
import json

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..basware import constants as bw
from ..basware import errors
from ..basware.client import bulk_body, chunk_records, encode_record
from ..models.basware_exchange import holds_secrets, json_text, to_json_text
from .common import SpineCase, vendor
from .test_sync_outbound import SyncCase


def record_lines(body):
    """The encoded records of a bulk body (one per line between the brackets)."""
    if isinstance(body, str):
        body = body.encode()
    return [line.removesuffix(b",") for line in body.split(b"\n")[1:-1]]


class TestRecordEncoding(BaseCase):
    def test_same_data_gives_the_same_bytes_whatever_the_key_order(self):
        first = encode_record({"name": "Åbo Paper", "vendorCode": "V1", "companies": []})
        second = encode_record({"companies": [], "vendorCode": "V1", "name": "Åbo Paper"})
        self.assertEqual(first, second)
        self.assertEqual(first, '{"companies":[],"name":"Åbo Paper","vendorCode":"V1"}'.encode())

    def test_chunks_reuse_the_encoded_records_one_per_line(self):
        records = [vendor(index) for index in range(5)]
        encoded = [encode_record(record) for record in records]
        chunks = chunk_records(records, 2, encoded=encoded)
        self.assertEqual([len(chunk) for chunk, _body in chunks], [2, 2, 1])
        self.assertEqual([part for _chunk, body in chunks for part in record_lines(body)], encoded)
        self.assertEqual(chunks[0][1], b"[\n" + encoded[0] + b",\n" + encoded[1] + b"\n]")
        self.assertEqual(json.loads(chunks[0][1]), records[:2])
        # The given bytes are used as they are, not encoded again.
        other = [b'{"externalCode":"X%d"}' % index for index in range(5)]
        [(_chunk, body)] = chunk_records(records, 10, encoded=other)
        self.assertEqual(body, bulk_body(other))

    def test_size_limit_counts_the_line_breaks(self):
        records = [vendor(index) for index in range(10)]
        parts = [encode_record(record) for record in records]
        exact = len(bulk_body(parts[:4]))
        chunks = chunk_records(records, 100, max_bytes=exact)
        self.assertEqual([len(chunk) for chunk, _body in chunks], [4, 4, 2])
        chunks = chunk_records(records, 100, max_bytes=exact - 1)
        self.assertEqual(len(chunks[0][0]), 3)
        self.assertLessEqual(max(len(body) for _chunk, body in chunks), exact - 1)

    def test_stored_text_has_one_entry_per_line(self):
        value = [{"b": 1, "a": "é"}, {"c": [1, 2]}]
        text = json_text(value)
        self.assertEqual(text, '[\n{"a": "é", "b": 1},\n{"c": [1, 2]}\n]')
        self.assertEqual(json.loads(text), value)
        status = {"status": "Success", "items": [{"externalCode": "A"}]}
        self.assertEqual(
            json_text(status), '{\n"items": [{"externalCode": "A"}],\n"status": "Success"\n}'
        )
        for plain in ([], {}, "text", 3, {1: "not a text key"}):
            self.assertEqual(json.loads(json_text(plain)), json.loads(json.dumps(plain)))

    def test_secret_words_are_hints_only(self):
        """A word such as "basic" or "token" in a name is no secret: the text stays as it is;
        a secret-looking key or value is still masked."""
        clean = {"name": "Basic Token Supplies", "description": "Bearer of good news"}
        self.assertFalse(holds_secrets(json_text(clean), clean))
        self.assertEqual(json.loads(to_json_text(clean)), clean)
        self.assertFalse(holds_secrets(json_text({"name": "Paper"})))
        secret = {"name": "x", "rows": [{"access_token": "t0k"}, {"to\u212aen": "k3lvin"}]}
        self.assertTrue(holds_secrets(json_text(secret)))
        stored = to_json_text(secret)
        self.assertNotIn("t0k", stored)
        self.assertNotIn("k3lvin", stored, "str.lower() makes the Kelvin sign a k")
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        self.assertNotIn(jwt, to_json_text([{"note": jwt}]))
        # The long s matches an s when case is ignored: this is a basic credential too.
        long_s = "Ba\u017fic dXNlcjpwYXNzd29yZDEyMzQ="
        self.assertNotIn(long_s, to_json_text({"note": long_s}))


@tagged("post_install", "-at_install")
class TestStoredBodyIsSent(SpineCase):
    def _recording_client(self):
        """The backend's client, keeping the body of every request it sends."""
        client = self.backend._get_client()
        self.addCleanup(client.close)
        sent = []
        client.session.hooks["response"].append(
            lambda response, *_args, **_kwargs: sent.append(
                (response.request.path_url, response.request.body)
            )
        )
        return client, sent

    def test_the_stored_payload_is_the_body_sent(self):
        records = [vendor(index, name=f"Vendor Åbo {index}") for index in range(3)]
        exchange = self.Exchange._enqueue_post(self.backend, "vendor", bw.VENDORS_PATH, records)
        client, sent = self._recording_client()
        exchange._run_one(client)
        self.assertEqual(exchange.state, "done", exchange.error_message)
        bodies = [body for path, body in sent if path == bw.VENDORS_PATH]
        self.assertEqual(bodies, [exchange.request_payload.encode()])
        self.assertEqual(record_lines(bodies[0]), [encode_record(record) for record in records])
        received = {item.pop("externalCode"): item for item in self.sandbox.received("vendors")}
        for record in records:
            self.assertEqual(received[record["externalCode"]]["name"], record["name"])

    def test_an_encoded_body_that_does_not_fit_is_not_sent(self):
        client, sent = self._recording_client()
        too_many = bulk_body([encode_record(vendor(index)) for index in range(201)])
        too_big = b'["' + b"x" * bw.MAX_REQUEST_BYTES + b'"]'
        for body in (b'{"externalCode": "V1"}', b"[]", too_many, too_big):
            with self.subTest(body=body[:30]), self.assertRaises(errors.BaswareValidationError):
                client.post_encoded(bw.VENDORS_PATH, body)
        self.assertEqual(sent, [], "not even a token request")

    def test_credentials_are_refused_in_an_encoded_body(self):
        records = [vendor(1, name="Basic Supplies"), vendor(2, apiKey="k-123")]
        with self.assertRaises(ValueError):
            self.Exchange._enqueue_post(self.backend, "vendor", bw.VENDORS_PATH, records)
        exchange = self.Exchange._enqueue_post(self.backend, "vendor", bw.VENDORS_PATH, records[:1])
        self.assertIn("Basic Supplies", exchange.request_payload)


@tagged("post_install", "-at_install")
class TestSyncSendsWhatItHashed(SyncCase):
    def test_binding_hash_is_the_hash_of_the_bytes_stored_and_sent(self):
        self.vendor.name = "Åbo Nordic Paper Oy"
        self._sync(["vendor"])
        binding = self._binding(self.vendor)
        exchange = binding.last_exchange_id
        [line] = record_lines(exchange.request_payload)
        self.assertEqual(binding.payload_hash, hashlib.sha256(line).hexdigest())
        self.assertEqual(json.loads(line), self.vendor._basware_vendor_values(self.backend))
        client = self.backend._get_client()
        self.addCleanup(client.close)
        sent = []
        client.session.hooks["response"].append(
            lambda response, *_args, **_kwargs: sent.append(response.request.body)
        )
        exchange._run_one(client)
        self.assertEqual(exchange.state, "done", exchange.error_message)
        self.assertIn(exchange.request_payload.encode(), sent)
