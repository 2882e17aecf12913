import json

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..basware.client import encode_record
from ..mapping.payload import VALID_FROM, VALID_UNTIL
from ..models.basware_binding import encoded_hash
from ..sandbox.validation import Validator
from .common import BaswareBackendCase, purchase_tax

IBAN = "BE68 5390 0754 7034"
SANITIZED_IBAN = "BE68539007547034"
BIC = "GEBABEBB"
FRENCH = "fr_FR"


def names(items):
    """{language: translation} of a LanguageTranslationEntity list."""
    return {item["language"]: item["translation"] for item in items}


def empty_values(value, path="payload"):
    """Paths of the None, empty strings and empty containers anywhere in ``value``."""
    if value is None or value in ("", [], {}):
        return [path]
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += empty_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += empty_values(item, f"{path}[{index}]")
    return found


class MasterPayloadCase(BaswareBackendCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = Validator()
        cls.env["res.lang"]._activate_lang(FRENCH)
        cls.belgium = cls.env.ref("base.be")
        cls.usd = cls.env.ref("base.USD")
        cls.other_company = cls.env["res.company"].create({"name": "Other Company"})
        cls.tax_group = cls.env["account.tax.group"].create(
            {"name": "VAT", "company_id": cls.company.id, "country_id": cls.belgium.id}
        )
        cls.term_30 = cls._payment_term("30 Days", nb_days=30)

    @classmethod
    def _payment_term(cls, name, lines=None, **line_values):
        lines = lines or [
            {"value": "percent", "value_amount": 100.0, "delay_type": "days_after", **line_values}
        ]
        return cls.env["account.payment.term"].create(
            {"name": name, "line_ids": [Command.create(line) for line in lines]}
        )

    @classmethod
    def _tax(cls, name, amount, **values):
        belgian = {
            "company_id": cls.company.id,
            "country_id": cls.belgium.id,
            "tax_group_id": cls.tax_group.id,
        }
        return purchase_tax(cls.env, name, amount, **belgian | values)

    @classmethod
    def _account(cls, code, name, account_type="expense", **values):
        return cls.env["account.account"].create(
            {"code": code, "name": name, "account_type": account_type, **values}
        )

    def assertValid(self, payload, schema):
        self.assertEqual(self.validator.errors(payload, schema), [])
        self.assertEqual(empty_values(payload), [], "empty values are omitted, never sent")
        json.dumps(payload)


class VendorPayloadCase(MasterPayloadCase):
    """A vendor with VAT, registry, addresses, contacts, a bank account and a payment term."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["res.bank"].create({"name": "BNP Paribas Fortis", "bic": BIC})
        cls.vendor = cls.env["res.partner"].create(
            {
                "name": "Acme Supplies",
                "is_company": True,
                "ref": "V-ACME",
                "vat": "BE0477472701",
                "company_registry": "0477.472.701",
                "street": "Rue de la Loi 16",
                "street2": "Building B",
                "zip": "1000",
                "city": "Brussels",
                "country_id": cls.belgium.id,
                "email": "orders@acme.example",
                "phone": "+32 2 123 45 67",
                "supplier_rank": 1,
                "bank_ids": [
                    Command.create(
                        {"acc_number": IBAN, "bank_id": cls.bank.id, "allow_out_payment": True}
                    ),
                ],
            }
        )
        cls.vendor.with_company(cls.company).property_supplier_payment_term_id = cls.term_30
        children = cls.env["res.partner"].create(
            [
                {
                    "name": "Jane Buyer",
                    "parent_id": cls.vendor.id,
                    "type": "contact",
                    "email": "jane@acme.example",
                },
                {
                    "name": "John Accounts",
                    "parent_id": cls.vendor.id,
                    "type": "contact",
                    "phone": "+32 2 765 43 21",
                },
                {
                    "name": "Acme Billing",
                    "parent_id": cls.vendor.id,
                    "type": "invoice",
                    "street": "Avenue Louise 1",
                    "zip": "1050",
                    "city": "Ixelles",
                    "country_id": cls.belgium.id,
                },
                {
                    "parent_id": cls.vendor.id,
                    "type": "delivery",
                    "street": "Quai des Usines 1",
                    "city": "Brussels",
                },
                # a contact without email or phone is of no use to Basware
                {"name": "Nobody", "parent_id": cls.vendor.id, "type": "contact"},
            ]
        )
        cls.jane, cls.john, cls.billing, cls.delivery, _nobody = children

    def _values(self, partner=None):
        return (partner or self.vendor)._basware_vendor_values(self.backend)


@tagged("post_install", "-at_install")
class TestVendorPayload(VendorPayloadCase):
    def test_vendor_payload(self):
        payload = self._values()
        self.assertValid(payload, "VendorEntity")
        self.assertEqual(payload["externalCode"], self.backend._basware_external_code(self.vendor))
        self.assertEqual(payload["vendorCode"], "V-ACME")
        self.assertEqual(payload["name"], "Acme Supplies")
        self.assertEqual(payload["sourceSystem"], "ODOO")
        self.assertEqual(
            payload["companies"], [{"companyCode": "C100", "inheritToChildUnits": True}]
        )
        self.assertEqual(
            payload["identifiers"],
            [
                {"schemeId": "VAT", "id": "BE0477472701"},
                {"schemeId": "OrganizationNumber", "id": "0477.472.701"},
            ],
        )
        self.assertEqual(payload["paymentTerms"], {"paymentTermCode": f"ODOO-PT-{self.term_30.id}"})
        self.assertEqual(payload["processingStatus"], {"active": True})
        self.assertNotIn("buvid", payload)

    def test_vendor_addresses(self):
        addresses = self._values()["addresses"]
        self.assertEqual(
            [address["addressType"] for address in addresses],
            ["PostalAddress", "RemittanceAddress", "DeliveryAddress"],
        )
        postal, remittance, delivery = addresses
        self.assertEqual(
            postal,
            {
                "externalCode": self.backend._basware_external_code(self.vendor, suffix=":address"),
                "name": "Acme Supplies",
                "addressType": "PostalAddress",
                "default": True,
                "streetName": "Rue de la Loi 16",
                "addressLine1": "Rue de la Loi 16",
                "addressLine2": "Building B",
                "additionalAddressFields": [{"key": "AdditionalStreetName", "value": "Building B"}],
                "postalZone": "1000",
                "cityName": "Brussels",
                "countryId": "BE",
            },
        )
        self.assertEqual(
            remittance["externalCode"],
            self.backend._basware_external_code(self.billing, suffix=":address"),
        )
        self.assertEqual(remittance["name"], "Acme Billing")
        self.assertFalse(remittance["default"])
        # a nameless address is named after its company
        self.assertEqual(delivery["name"], "Acme Supplies")
        self.assertNotIn("countryId", delivery)
        codes = {address["externalCode"] for address in addresses}
        self.assertEqual(len(codes), 3)
        self.assertNotIn(self.backend._basware_external_code(self.vendor), codes)

    def test_long_street_is_cut_for_p2p_and_whole_in_address_lines(self):
        street = "Boulevard " + "x" * 60
        self.vendor.street = street
        postal = self._values()["addresses"][0]
        self.assertEqual(postal["streetName"], street[:50])
        self.assertEqual(postal["addressLine1"], street)
        self.assertValid(self._values(), "VendorEntity")

    def test_vendor_contacts(self):
        self.assertEqual(
            self._values()["contacts"],
            [
                {
                    "name": "Acme Supplies",
                    "role": "PrimaryContact",
                    "email": "orders@acme.example",
                    "telephone": "+32 2 123 45 67",
                },
                {"name": "Jane Buyer", "role": "AdditionalContact", "email": "jane@acme.example"},
                {
                    "name": "John Accounts",
                    "role": "AdditionalContact",
                    "telephone": "+32 2 765 43 21",
                },
            ],
        )

    def test_contact_names_stay_unique(self):
        self.john.name = "Jane Buyer"
        contacts = self._values()["contacts"]
        self.assertEqual(len({contact["name"] for contact in contacts}), len(contacts))
        self.assertEqual(contacts[2]["name"], f"Jane Buyer ({self.john.id})")

    def test_vendor_payment_means(self):
        means = self._values()["paymentMeans"]
        self.assertEqual(
            means,
            [
                {
                    "paymentMeansCode": "30",
                    "currencyCode": self.company.currency_id.name,
                    "default": True,
                    "financialAccounts": [
                        {
                            "financialInstitution": {
                                "schemeId": "BIC",
                                "id": BIC,
                                "name": "BNP Paribas Fortis",
                            },
                            "financialAccountIdentifiers": [
                                {
                                    "schemeId": "IBAN",
                                    "id": SANITIZED_IBAN,
                                    "accountHolderName": "Acme Supplies",
                                }
                            ],
                        }
                    ],
                }
            ],
        )

    def test_bank_accounts_trusted_active_in_order(self):
        self.env["res.partner.bank"].create(
            [
                # a local account number, in another currency, without a bank: BBAN, no BIC
                {
                    "partner_id": self.vendor.id,
                    "acc_number": "123-4567890-12",
                    "currency_id": self.usd.id,
                    "allow_out_payment": True,
                    "sequence": 20,
                },
                # an IBAN with wrong check digits is an ordinary account number
                {
                    "partner_id": self.vendor.id,
                    "acc_number": "BE69 5390 0754 7034",
                    "allow_out_payment": True,
                    "sequence": 30,
                },
                # not trusted for payments, or archived: never sent
                {"partner_id": self.vendor.id, "acc_number": "BE71 0961 2345 6769"},
                {
                    "partner_id": self.vendor.id,
                    "acc_number": "NL91 ABNA 0417 1643 00",
                    "allow_out_payment": True,
                    "active": False,
                },
            ]
        )
        payload = self._values()
        self.assertValid(payload, "VendorEntity")
        means = payload["paymentMeans"]
        self.assertEqual([mean["default"] for mean in means], [True, False, False])
        identifiers = [
            mean["financialAccounts"][0]["financialAccountIdentifiers"] for mean in means
        ]
        self.assertEqual(
            [(ids[0]["schemeId"], ids[0]["id"]) for ids in identifiers],
            [("IBAN", SANITIZED_IBAN), ("BBAN", "123456789012"), ("BBAN", "BE69539007547034")],
        )
        self.assertEqual(means[1]["currencyCode"], "USD")
        self.assertNotIn("financialInstitution", means[1]["financialAccounts"][0])

    def test_payment_term_of_the_backend_company(self):
        other_term = self._payment_term("60 Days", nb_days=60)
        self.vendor.with_company(self.other_company).property_supplier_payment_term_id = other_term
        self.assertEqual(
            self._values()["paymentTerms"]["paymentTermCode"],
            self.term_30._basware_code(self.backend),
        )
        self.vendor.with_company(self.company).property_supplier_payment_term_id = False
        self.assertNotIn("paymentTerms", self._values())

    def test_archived_vendor_goes_out_inactive(self):
        self.vendor.action_archive()
        payload = self._values()
        self.assertEqual(payload["processingStatus"], {"active": False})
        self.assertEqual(payload["vendorCode"], "V-ACME")
        self.assertValid(payload, "VendorEntity")

    def test_minimal_vendor_omits_empty_values(self):
        partner = self.env["res.partner"].create({"name": "Bare Vendor", "vat": "/"})
        payload = self._values(partner)
        self.assertValid(payload, "VendorEntity")
        self.assertEqual(
            set(payload),
            {"externalCode", "vendorCode", "name", "sourceSystem", "companies", "processingStatus"},
        )
        self.assertEqual(payload["vendorCode"], f"ODOO-{partner.id}")

    def test_company_code_is_required(self):
        self.backend.basware_company_code = False
        with self.assertRaisesRegex(UserError, "company code"):
            self._values()


@tagged("post_install", "-at_install")
class TestAccountingPayloads(MasterPayloadCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._account("BW6100", "Office supplies")
        cls.account.with_context(lang=FRENCH).name = "Fournitures de bureau"

    def test_account_payload(self):
        payload = self.account._basware_account_values(self.backend)
        self.assertValid(payload, "AccountEntity")
        self.assertEqual(payload["externalCode"], self.backend._basware_external_code(self.account))
        self.assertEqual(payload["accountCode"], "BW6100")
        self.assertEqual(
            names(payload["accountNames"]),
            {"en-US": "Office supplies", "fr-FR": "Fournitures de bureau"},
        )
        self.assertEqual(payload["accountNames"][0]["language"], "en-US")
        self.assertEqual(
            payload["companies"], [{"companyCode": "C100", "inherit": True, "active": True}]
        )

    def test_languages_are_the_installed_ones(self):
        installed = {code.replace("_", "-") for code, _name in self.env["res.lang"].get_installed()}
        payload = self.account._basware_account_values(self.backend)
        self.assertEqual(set(names(payload["accountNames"])), installed | {"en-US"})

    def test_untranslated_name_falls_back_to_english(self):
        account = self._account("BW6101", "Postage")
        self.assertEqual(
            names(account._basware_account_values(self.backend)["accountNames"])["fr-FR"],
            "Postage",
        )

    def test_short_name_gets_the_code(self):
        account = self._account("BW6102", "X")
        payload = account._basware_account_values(self.backend)
        self.assertValid(payload, "AccountEntity")
        self.assertEqual(names(payload["accountNames"])["en-US"], "BW6102 X")

    def test_archived_account_goes_out_inactive(self):
        self.account.action_archive()
        payload = self.account._basware_account_values(self.backend)
        self.assertFalse(payload["companies"][0]["active"])
        self.assertValid(payload, "AccountEntity")

    def test_tax_code_payload(self):
        tax = self._tax("21% purchase", 21.0)
        tax.with_context(lang=FRENCH).name = "21% achat"
        payload = tax._basware_tax_code_values(self.backend)
        self.assertValid(payload, "TaxCodeEntity")
        self.assertEqual(payload["externalCode"], self.backend._basware_external_code(tax))
        self.assertEqual(payload["taxCode"], f"ODOO-TAX-{tax.id}")
        self.assertEqual(payload["taxPercentage"], 21.0)
        self.assertEqual(
            names(payload["taxCodeNames"]), {"en-US": "21% purchase", "fr-FR": "21% achat"}
        )
        self.assertEqual(
            payload["companies"], [{"companyCode": "C100", "inherit": True, "active": True}]
        )
        tax.basware_code = "V21"
        self.assertEqual(tax._basware_tax_code_values(self.backend)["taxCode"], "V21")

    def test_tax_percentage_of_groups_and_fixed_taxes(self):
        children = {"type_tax_use": "none"}
        reverse_charge = self._tax(
            "EU reverse charge",
            0.0,
            amount_type="group",
            children_tax_ids=[
                Command.create({**children, "name": "RC 21%", "amount": 21.0}),
                Command.create({**children, "name": "RC -21%", "amount": -21.0}),
            ],
        )
        split = self._tax(
            "10% + 5.5%",
            0.0,
            amount_type="group",
            children_tax_ids=[
                Command.create({**children, "name": "10%", "amount": 10.0}),
                Command.create({**children, "name": "5.5%", "amount": 5.5}),
                Command.create(
                    {**children, "name": "Eco fee", "amount": 2.0, "amount_type": "fixed"}
                ),
            ],
        )
        fixed = self._tax("Eco fee 2.00", 2.0, amount_type="fixed")
        for tax, percentage in ((reverse_charge, 0.0), (split, 15.5), (fixed, 0.0)):
            with self.subTest(tax=tax.name):
                payload = tax._basware_tax_code_values(self.backend)
                self.assertValid(payload, "TaxCodeEntity")
                self.assertEqual(payload["taxPercentage"], percentage)

    def test_payment_term_payload(self):
        term = self._payment_term("15 Days 2%", nb_days=15)
        term.write({"early_discount": True, "discount_percentage": 2.0, "discount_days": 10})
        term.with_context(lang=FRENCH).name = "15 jours 2%"
        payload = term._basware_payment_term_values(self.backend)
        self.assertValid(payload, "PaymentTermEntity")
        self.assertEqual(
            payload,
            {
                "externalCode": self.backend._basware_external_code(term),
                "paymentTermCode": f"ODOO-PT-{term.id}",
                "paymentTermNames": [
                    {"language": "en-US", "translation": "15 Days 2%"},
                    {"language": "fr-FR", "translation": "15 jours 2%"},
                ],
                "sortOrder": term.sequence,
                "validFrom": VALID_FROM,
                "validTo": VALID_UNTIL,
                "companies": [{"companyCode": "C100", "inherit": True, "active": True}],
                "dueDateCalc": 1,
                "dueDateDays": 15,
                "dueDateEom": 0,
                "dueDateDays2": 0,
                "cashDueDateCalc": 1,
                "cashDueDateDays": 10,
                "cashDueDateEom": 0,
                "cashDiscount": 2.0,
            },
        )

    def test_payment_term_month_end_rules(self):
        cases = [
            ({"delay_type": "days_after_end_of_month", "nb_days": 15}, (0, 1, 15)),
            ({"delay_type": "days_after_end_of_next_month", "nb_days": 0}, (0, 2, 0)),
            (
                {"delay_type": "days_end_of_month_on_the", "nb_days": 30, "days_next_month": "10"},
                (30, 1, 10),
            ),
        ]
        for line, expected in cases:
            with self.subTest(**line):
                term = self._payment_term(line["delay_type"], **line)
                payload = term._basware_payment_term_values(self.backend)
                self.assertValid(payload, "PaymentTermEntity")
                rule = (payload["dueDateDays"], payload["dueDateEom"], payload["dueDateDays2"])
                self.assertEqual(rule, expected)
                self.assertNotIn("cashDueDateCalc", payload)

    def test_payment_term_in_installments_has_no_due_date_rule(self):
        term = self._payment_term(
            "50/50",
            lines=[
                {"value": "percent", "value_amount": 50.0, "nb_days": 0},
                {"value": "percent", "value_amount": 50.0, "nb_days": 30},
            ],
        )
        term.action_archive()
        payload = term._basware_payment_term_values(self.backend)
        self.assertValid(payload, "PaymentTermEntity")
        self.assertFalse(any(key.startswith("dueDate") for key in payload))
        self.assertFalse(payload["companies"][0]["active"])


@tagged("post_install", "-at_install")
class TestAnalyticPayloads(MasterPayloadCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls.env["account.analytic.plan"].create({"name": "Basware Dimensions"})
        sub_plans = cls.env["account.analytic.plan"].create(
            [{"name": name, "parent_id": cls.plan.id} for name in ("Centers", "Items", "Jobs")]
        )
        cls.backend.analytic_mapping_ids.unlink()
        cls.cost_centers, cls.list_items, cls.projects = cls.env["basware.analytic.mapping"].create(
            [
                {"backend_id": cls.backend.id, "plan_id": sub_plans[0].id, "target": "cost_center"},
                {
                    "backend_id": cls.backend.id,
                    "plan_id": sub_plans[1].id,
                    "target": "list",
                    "list_key": "ACC_LIST_3",
                },
                {"backend_id": cls.backend.id, "plan_id": sub_plans[2].id, "target": "project"},
            ]
        )
        cls.analytic = cls.env["account.analytic.account"].create(
            {"name": "Marketing", "code": "CC-100", "plan_id": sub_plans[0].id}
        )
        cls.analytic.with_context(lang=FRENCH).name = "Marketing FR"

    def _values(self, mapping, analytic=None):
        return (analytic or self.analytic)._basware_dimension_values(self.backend, mapping)

    def test_cost_center_payload(self):
        payload = self._values(self.cost_centers)
        self.assertValid(payload, "CostCenterEntity")
        self.assertEqual(
            payload,
            {
                "externalCode": self.backend._basware_external_code(self.analytic),
                "costCenterCode": "CC-100",
                "costCenterNames": [
                    {"language": "en-US", "translation": "Marketing"},
                    {"language": "fr-FR", "translation": "Marketing FR"},
                ],
                "companies": [{"companyCode": "C100", "active": True}],
            },
        )

    def test_list_item_payload(self):
        payload = self._values(self.list_items)
        self.assertValid(payload, "GenericListEntity")
        self.assertEqual(
            payload,
            {
                "externalCode": self.backend._basware_external_code(self.analytic),
                "text_1": "CC-100",
                "text_2": "Marketing",
                "companies": [{"companyCode": "C100", "active": True}],
            },
        )

    def test_project_payload(self):
        self.analytic.write({"name": "P" * 120, "code": False})
        self.analytic.action_archive()
        payload = self._values(self.projects)
        self.assertValid(payload, "ProjectEntityV2")
        self.assertEqual(payload["projectCode"], f"ODOO-AA-{self.analytic.id}")
        self.assertEqual(payload["projectName"], "P" * 100)
        self.assertEqual((payload["validFrom"], payload["validUntil"]), (VALID_FROM, VALID_UNTIL))
        self.assertEqual(payload["companies"], [{"companyCode": "C100", "active": False}])


@tagged("post_install", "-at_install")
class TestBuildersArePure(VendorPayloadCase):
    """Same input, same payload: no write, no new record, whatever the caller's language."""

    def _all_payloads(self, env=None):
        env = env or self.env
        mapping = self.backend.analytic_mapping_ids[:1]
        records = {
            "vendor": (self.vendor, lambda r: r._basware_vendor_values(self.backend)),
            "account": (self.account, lambda r: r._basware_account_values(self.backend)),
            "tax": (self.tax, lambda r: r._basware_tax_code_values(self.backend)),
            "term": (self.term_30, lambda r: r._basware_payment_term_values(self.backend)),
            "analytic": (
                self.analytic,
                lambda r: r._basware_dimension_values(self.backend, mapping),
            ),
        }
        return {key: build(record.with_env(env)) for key, (record, build) in records.items()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._account("BW6200", "Rent")
        cls.account.with_context(lang=FRENCH).name = "Loyer"
        cls.tax = cls._tax("6% purchase", 6.0)
        plan = cls.env["account.analytic.plan"].create({"name": "Purity"})
        cls.analytic = cls.env["account.analytic.account"].create(
            {"name": "Sales", "plan_id": plan.id}
        )
        cls.backend.analytic_mapping_ids.unlink()
        cls.env["basware.analytic.mapping"].create(
            {"backend_id": cls.backend.id, "plan_id": plan.id, "target": "cost_center"}
        )

    def _state(self):
        records = [self.vendor, *self.vendor.child_ids, self.account, self.tax, self.term_30]
        records += [self.analytic, self.backend, *self.vendor.bank_ids]
        self.env.flush_all()
        counts = {
            model: self.env[model].with_context(active_test=False).search_count([])
            for model in ("basware.binding", "basware.exchange", "res.partner", "res.partner.bank")
        }
        return counts, [(record._name, record.id, record.write_date) for record in records]

    def test_no_write_and_stable_output(self):
        before = self._state()
        first = self._all_payloads()
        self.env.invalidate_all()
        second = self._all_payloads()
        self.assertEqual(self._state(), before)
        self.assertEqual(first, second)
        for key in first:
            self.assertEqual(
                encoded_hash(encode_record(first[key])),
                encoded_hash(encode_record(second[key])),
                key,
            )

    def test_output_does_not_follow_the_callers_language(self):
        english = self._all_payloads()
        french = self._all_payloads(self.env(context=dict(self.env.context, lang=FRENCH)))
        self.assertEqual(english, french)

    def _queries(self, records, build):
        """Queries of a loop building the payloads of ``records``, from an empty cache."""
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.env.cr.sql_log_count
        for record in records.browse(records.ids):
            build(record)
        return self.env.cr.sql_log_count - start

    def test_queries_do_not_grow_with_the_number_of_vendors(self):
        """A loop over many vendors reads in batches: as many queries for 2 as for 6."""

        def vendors(count):
            return self.env["res.partner"].create(
                [
                    {
                        "name": f"Batch Vendor {index}",
                        "is_company": True,
                        "vat": f"BE0{index:09d}",
                        "street": "Street 1",
                        "city": "Brussels",
                        "country_id": self.belgium.id,
                        "email": f"v{index}@batch.example",
                        "property_supplier_payment_term_id": self.term_30.id,
                        "bank_ids": [
                            Command.create(
                                {"acc_number": f"1234{index:08d}", "allow_out_payment": True}
                            )
                        ],
                        "child_ids": [
                            Command.create({"name": f"Contact {index}", "email": "c@b.example"}),
                            Command.create(
                                {"type": "invoice", "street": "Invoice St", "city": "Ghent"}
                            ),
                        ],
                    }
                    for index in range(count)
                ]
            )

        def build(partner):
            return partner._basware_vendor_values(self.backend)

        small, large = vendors(2), vendors(6)
        self._queries(small, build)  # fills the caches that outlive a transaction
        self.assertEqual(self._queries(small, build), self._queries(large, build))

    def test_queries_do_not_grow_with_the_number_of_accounts(self):
        """Names are read once per language for a whole batch of accounts."""

        def accounts(prefix, count):
            return self.env["account.account"].create(
                [
                    {
                        "code": f"{prefix}{index}",
                        "name": f"Batch {index}",
                        "account_type": "expense",
                    }
                    for index in range(count)
                ]
            )

        def build(account):
            return account._basware_account_values(self.backend)

        small, large = accounts("BWS", 2), accounts("BWL", 6)
        self._queries(small, build)
        self.assertEqual(self._queries(small, build), self._queries(large, build))


@tagged("post_install", "-at_install")
class TestMasterScope(MasterPayloadCase):
    """The records of the backend's company in scope, archived ones included."""

    def _in_scope(self, model_name, scope):
        """What a flow's first run examines: every record of ``scope``."""
        return self.backend._basware_changed(model_name, scope, False)

    def test_vendor_records(self):
        partners = self.env["res.partner"]
        supplier = partners.create({"name": "Shared Supplier", "supplier_rank": 1})
        own = partners.create(
            {"name": "Own Supplier", "supplier_rank": 1, "company_id": self.company.id}
        )
        archived = partners.create({"name": "Old Supplier", "supplier_rank": 1, "active": False})
        customer = partners.create({"name": "Customer Only", "customer_rank": 1})
        foreign = partners.create(
            {"name": "Foreign Supplier", "supplier_rank": 1, "company_id": self.other_company.id}
        )
        parent = partners.create({"name": "Parent Company", "is_company": True})
        contact = partners.create(
            {"name": "Billing Person", "parent_id": parent.id, "supplier_rank": 1}
        )
        records = self._in_scope("res.partner", self.backend._basware_vendor_scope())
        self.assertLessEqual(supplier | own | archived | parent, records)
        self.assertFalse(records & (customer | foreign | contact))
        self.assertEqual(records, records.commercial_partner_id)

    def test_vendor_domain_of_the_backend(self):
        partners = self.env["res.partner"]
        matching = partners.create(
            [
                {"name": "Scoped A", "ref": "SCOPE-1"},
                {"name": "Scoped B", "ref": "SCOPE-2", "active": False},
            ]
        )
        partners.create({"name": "Not scoped", "ref": "OTHER-1", "supplier_rank": 1})
        self.backend.vendor_domain = "[('ref', '=like', 'SCOPE-%')]"
        self.assertEqual(
            self._in_scope("res.partner", self.backend._basware_vendor_scope()), matching
        )
        self.backend.vendor_domain = "[('ref', '=', "
        with self.assertRaisesRegex(UserError, "not valid"):
            self._in_scope("res.partner", self.backend._basware_vendor_scope())

    def test_account_records(self):
        expense = self._account("BW6110", "Scoped expense")
        archived = self._account("BW6111", "Old expense", active=False)
        income = self._account("BW7000", "Sales", account_type="income")
        foreign = (
            self.env["account.account"]
            .with_company(self.other_company)
            .create(
                {
                    "code": "BW6112",
                    "name": "Foreign expense",
                    "account_type": "expense",
                    "company_ids": [Command.set(self.other_company.ids)],
                }
            )
        )
        records = self._in_scope("account.account", self.backend._basware_account_scope())
        self.assertLessEqual(expense | archived, records)
        self.assertFalse(records & (income | foreign))

    def test_tax_records(self):
        percent = self._tax("Scoped 21%", 21.0)
        group = self._tax(
            "Scoped group",
            0.0,
            amount_type="group",
            children_tax_ids=[
                Command.create({"name": "Part", "amount": 10.0, "type_tax_use": "none"})
            ],
        )
        archived = self._tax("Scoped old 6%", 6.0, active=False)
        sale = self._tax("Scoped sale 21%", 21.0, type_tax_use="sale")
        fixed = self._tax("Scoped fixed", 1.0, amount_type="fixed")
        foreign_group = self.env["account.tax.group"].create(
            {"name": "Foreign VAT", "company_id": self.other_company.id}
        )
        foreign = self._tax(
            "Foreign 21%", 21.0, company_id=self.other_company.id, tax_group_id=foreign_group.id
        )
        records = self._in_scope("account.tax", self.backend._basware_tax_scope())
        self.assertLessEqual(percent | group | archived, records)
        self.assertFalse(records & (group.children_tax_ids | sale | fixed | foreign))

    def test_payment_term_records(self):
        own = self._payment_term("Own 45 days", nb_days=45)
        own.company_id = self.company
        archived = self._payment_term("Old 90 days", nb_days=90)
        archived.action_archive()
        foreign = self._payment_term("Foreign 10 days", nb_days=10)
        foreign.company_id = self.other_company
        records = self._in_scope("account.payment.term", self.backend._basware_payment_term_scope())
        self.assertLessEqual(self.term_30 | own | archived, records)
        self.assertNotIn(foreign, records)

    def test_analytic_records(self):
        plans = self.env["account.analytic.plan"]
        plan, other_plan = plans.create([{"name": "Scoped Plan"}, {"name": "Other Plan"}])
        sub_plan = plans.create({"name": "Scoped Sub-plan", "parent_id": plan.id})
        analytics = self.env["account.analytic.account"]
        in_scope = analytics.create(
            [
                {"name": "Shared", "plan_id": plan.id, "company_id": False},
                {"name": "Own", "plan_id": sub_plan.id, "company_id": self.company.id},
                {"name": "Archived", "plan_id": plan.id, "active": False},
            ]
        )
        analytics.create(
            [
                {"name": "Foreign", "plan_id": plan.id, "company_id": self.other_company.id},
                {"name": "Other plan", "plan_id": other_plan.id},
            ]
        )
        self.backend.analytic_mapping_ids.unlink()
        mapping = self.env["basware.analytic.mapping"].create(
            {"backend_id": self.backend.id, "plan_id": plan.id, "target": "cost_center"}
        )
        self.assertEqual(
            self._in_scope(
                "account.analytic.account", self.backend._basware_analytic_scope(mapping)
            ),
            in_scope,
        )
