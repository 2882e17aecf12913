"""The sandbox's contract data and validator, and the script that extracts the contract."""

import importlib.util
from pathlib import Path

from odoo.tests.common import BaseCase

from ..sandbox.validation import Validator, contract

EXTRACTOR = Path(__file__).resolve().parent.parent / "tools" / "extract_contract.py"
SCHEMAS = {
    "Thing": {
        "type": "object",
        "required": ["code", "parts"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 5},
            "kind": {"type": "string", "enum": ["A", "B"], "nullable": True},
            "count": {"type": "integer", "format": "int32", "minimum": 0},
            "share": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "ratio": {"type": "number", "exclusiveMaximum": 1},
            "flag": {"type": "boolean"},
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
            "parts": {"type": "array", "items": {"$ref": "Part"}},
        },
    },
    "Part": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 3}},
    },
}


def load_extractor():
    spec = importlib.util.spec_from_file_location("extract_contract", EXTRACTOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestSandboxValidator(BaseCase):
    def setUp(self):
        super().setUp()
        self.validator = Validator(SCHEMAS)

    def errors(self, **values):
        return self.validator.errors({"code": "C1", "parts": [], **values}, "Thing")

    def test_valid_value(self):
        self.assertEqual(
            self.errors(
                kind=None,
                count=3,
                share=0.5,
                ratio=0.9,
                flag=False,
                when="2025-01-31T10:00:00Z",
                mail="a@b",
                parts=[{"name": "abc"}],
            ),
            [],
        )

    def test_required_and_unknown(self):
        self.assertEqual(
            self.validator.errors({"code": "C1", "x": 1}, "Thing"),
            ["parts: field is required", "x: unknown field"],
        )

    def test_strings(self):
        self.assertEqual(self.errors(code=""), ["code: shorter than 1 characters"])
        self.assertEqual(self.errors(code="C12345"), ["code: longer than 5 characters"])
        self.assertEqual(self.errors(kind="C"), ["kind: 'C' is not one of A, B"])
        self.assertEqual(self.errors(mail="nobody"), ["mail: does not match the required pattern"])
        self.assertEqual(
            self.errors(when="31/01/2025"), ["when: '31/01/2025' is not a valid date-time"]
        )
        self.assertEqual(self.errors(when="2025-01-31"), [])

    def test_types_and_null(self):
        self.assertEqual(self.errors(count=True), ["count: expected integer, got boolean"])
        self.assertEqual(self.errors(count=1.5), ["count: expected integer, got number"])
        self.assertEqual(self.errors(count=2.0), [])
        self.assertEqual(self.errors(flag="true"), ["flag: expected boolean, got string"])
        self.assertEqual(self.errors(flag=None), ["flag: must not be null"])
        self.assertEqual(self.errors(parts={}), ["parts: expected array, got object"])

    def test_numbers(self):
        self.assertEqual(self.errors(count=-1), ["count: less than 0"])
        self.assertEqual(self.errors(count=2**31), ["count: out of the int32 range"])
        self.assertEqual(self.errors(share=0), ["share: must be greater than 0"])
        self.assertEqual(self.errors(ratio=1), ["ratio: must be less than 1"])

    def test_nested_paths(self):
        found = self.errors(parts=[{"name": "ok"}, {"name": "long"}, {}])
        self.assertEqual(
            found, ["parts[1].name: longer than 3 characters", "parts[2].name: field is required"]
        )


class TestSandboxContract(BaseCase):
    def test_bulk_limits_and_wrappers_from_the_spec(self):
        endpoints = contract()["endpoints"]
        limits = {
            name: endpoints[name]["bulkLimit"]
            for name in (
                "vendors",
                "accounts",
                "matchingOrders",
                "matchingOrderLines",
                "accountingDocuments",
            )
        }
        self.assertEqual(
            limits,
            {
                "vendors": 200,
                "accounts": 500,
                "matchingOrders": 500,
                "matchingOrderLines": 100,
                "accountingDocuments": 100,
            },
        )
        self.assertEqual(contract()["maxRequestBytes"], 6 * 1024 * 1024)
        self.assertEqual(endpoints["vendors"]["wrapper"], "vendorEntities")
        self.assertEqual(endpoints["lists"]["wrapper"], "listItems")
        self.assertEqual(endpoints["vendors"]["pageSize"], {"default": 100, "min": 1, "max": 500})

    def test_entity_schemas(self):
        schemas = contract()["schemas"]
        vendor = schemas["VendorEntity"]
        self.assertEqual(
            sorted(vendor["required"]), ["companies", "externalCode", "name", "vendorCode"]
        )
        self.assertEqual(vendor["properties"]["vendorCode"]["maxLength"], 25)
        self.assertEqual(
            vendor["properties"]["companies"]["items"], {"$ref": "VendorCompanyEntity"}
        )
        line = schemas["OrderLineEntity"]["properties"]["matchingMode"]
        self.assertEqual(line["enum"], ["Standard", "Blanket", "Return", "Service"])
        self.assertIn("TransferResponseEntity", schemas)
        self.assertIn("SubscriptionEntity", schemas)
        for name, schema in schemas.items():
            self.assertNotIn("description", schema, name)
        self.assertIn("tasks.read", contract()["scopes"])
        self.assertEqual(len(contract()["listKeys"]), 60)


class TestSandboxExtractor(BaseCase):
    def setUp(self):
        super().setUp()
        self.extractor = load_extractor()

    def test_bulk_limits_are_read_from_the_prose(self):
        prose = (
            "Intro. The record limit varies by endpoint. It is 100 for AccountingDocuments, "
            "MatchingOrderLines and PurchaseRequisitions, 200 for vendors, 500 for most "
            "other APIs. Size of each incoming request is also limited to 6mb. More."
        )
        limits, default, size = self.extractor._bulk_limits(prose)
        self.assertEqual(
            limits,
            {
                "accountingDocuments": 100,
                "matchingOrderLines": 100,
                "purchaseRequisitions": 100,
                "vendors": 200,
            },
        )
        self.assertEqual((default, size), (500, 6 * 1024 * 1024))

    def test_schemas_keep_validation_keywords_and_refs(self):
        spec_schemas = {
            "Root": {
                "type": "object",
                "required": ["a"],
                "description": "dropped",
                "properties": {
                    "a": {"type": "string", "maxLength": 3, "example": "x"},
                    "b": {"type": "array", "items": {"$ref": "#/components/schemas/Leaf"}},
                    "c": {"anyOf": [{"$ref": "#/components/schemas/Leaf"}, {"type": "null"}]},
                },
            },
            "Leaf": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
            "Unused": {"type": "object"},
        }
        slim = self.extractor._collect(spec_schemas, ["Root"])
        self.assertEqual(sorted(slim), ["Leaf", "Root"])
        self.assertEqual(slim["Root"]["properties"]["a"], {"type": "string", "maxLength": 3})
        self.assertEqual(slim["Root"]["properties"]["b"]["items"], {"$ref": "Leaf"})
        self.assertEqual(slim["Root"]["properties"]["c"], {"$ref": "Leaf", "nullable": True})
        self.assertNotIn("description", slim["Root"])

    def test_supported_values_from_the_push_spec_prose(self):
        prose = "Task type. Supported values: 'AccountingDocuments', 'RequestStatus'. Other."
        self.assertEqual(
            self.extractor._supported_values(prose), ["AccountingDocuments", "RequestStatus"]
        )
