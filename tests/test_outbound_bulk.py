"""The outbound sync in bulk: its SQL queries follow the exchanges, not the records, and
each record is encoded once, so that the bytes hashed, stored on the exchange and sent to
Basware are the same. Secrets are still refused or masked, without walking through the
payloads that name no secret-looking word."""

import hashlib
import json

from odoo import Command
from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..basware import constants as bw
from ..basware import errors
from ..basware.client import bulk_body, chunk_records, encode_record
from ..basware.redaction import holds_secrets, json_text, to_json_text
from .common import QueueCase, enqueue_post, vendor
from .stock_common import receive
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
class TestStoredBodyIsSent(QueueCase):
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
        exchange = enqueue_post(self.Exchange, self.backend, "vendor", bw.VENDORS_PATH, records)
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
            enqueue_post(self.Exchange, self.backend, "vendor", bw.VENDORS_PATH, records)
        exchange = enqueue_post(self.Exchange, self.backend, "vendor", bw.VENDORS_PATH, records[:1])
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


@tagged("post_install", "-at_install")
class TestVendorAddressState(SyncCase):
    def test_state_is_read_only_where_there_is_one(self):
        [postal] = self.vendor._basware_vendor_values(self.backend)["addresses"]
        self.assertNotIn("countrySubEntity", postal)
        state = self.env["res.country.state"].create(
            {"name": "Uusimaa", "code": "BW-UUS", "country_id": self.vendor.country_id.id}
        )
        self.vendor.state_id = state
        [postal] = self.vendor._basware_vendor_values(self.backend)["addresses"]
        self.assertEqual(postal["countrySubEntity"], "Uusimaa")


@tagged("post_install", "-at_install")
class TestQueriesFollowTheExchanges(SyncCase):
    """A cycle that sends many records in one exchange costs the queries of one that sends
    a few: reads, bindings and exchanges are written per batch, never per record."""

    # Queries that depend on what the ORM still holds from earlier work, e.g. a company
    # read once per new environment: a handful either way, never one per record.
    CACHE_SLACK = 3

    def _queries_of_cycles(self, flows, cycles=1):
        """SQL queries of ``cycles`` syncs of ``flows``, each with its queue run, started
        as a new cron run would be: nothing left to write, nothing in the cache."""
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.env.cr.sql_log_count
        for _cycle in range(cycles):
            self._sync(flows)
            self._run_queue()
        return self.env.cr.sql_log_count - start

    def _new_vendors(self, count, prefix):
        return self.Partner.create(
            [
                {
                    "name": f"{prefix} {index}",
                    "is_company": True,
                    "supplier_rank": 1,
                    "street": f"Street {index}",
                    "city": "Turku",
                    "country_id": self.env.ref("base.fi").id,
                    "email": f"ap{index}@{prefix.lower()}.example",
                    "bank_ids": [Command.create({"acc_number": f"FI21 1234 5600 {index:06d}"})],
                }
                for index in range(count)
            ]
        )

    def _new_order(self, lines):
        product = self.env["product.product"].create({"name": "Toner", "type": "consu"})
        order = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor.id,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "product_qty": 2 + line, "price_unit": 9.5}
                    )
                    for line in range(lines)
                ],
            }
        )
        order.button_confirm()
        receive(order, dict.fromkeys(order.order_line, 1))
        return order

    def _assert_done(self, records):
        bindings = self.Binding.search(
            [
                ("backend_id", "=", self.backend.id),
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
            ]
        )
        self.assertEqual(len(bindings), len(records))
        self.assertEqual(set(bindings.mapped("sync_state")), {"done"})

    def test_vendor_queries_do_not_grow_with_the_vendors(self):
        self._queries_of_cycles(["vendor"])
        few = self._new_vendors(2, "Few")
        queries_few = self._queries_of_cycles(["vendor"])
        many = self._new_vendors(150, "Many")
        queries_many = self._queries_of_cycles(["vendor"])
        self._assert_done(few | many)
        self.assertLessEqual(abs(queries_many - queries_few), self.CACHE_SLACK)

    def test_order_line_queries_do_not_grow_with_the_lines(self):
        self._queries_of_cycles(["vendor"])
        # The order goes first, then its lines once Basware accepted it: two cycles.
        self._new_order(2)
        self._queries_of_cycles(["purchase_order"], cycles=2)
        short = self._new_order(2)
        queries_short = self._queries_of_cycles(["purchase_order"], cycles=2)
        long = self._new_order(90)
        queries_long = self._queries_of_cycles(["purchase_order"], cycles=2)
        self._assert_done(short.order_line | long.order_line)
        self.assertLessEqual(abs(queries_long - queries_short), self.CACHE_SLACK)
