from types import SimpleNamespace

from odoo.tests.common import BaseCase

from ..mapping.codes import (
    CODE_LIMITS,
    CODE_MAX,
    DIMENSION_CODE_MAX,
    TAX_CODE_PREFIX,
    fallback_code,
)
from ..mapping.payload import (
    SHORT_NAME_PAD,
    TRANSLATION_MAX,
    basware_language,
    compact,
    fit,
    is_iban,
    ordered_languages,
    split_charge,
    translation_item,
    whole,
)

SANITIZED_IBAN = "BE68539007547034"


class TestPayloadTexts(BaseCase):
    def test_fit_strips_and_cuts_and_empty_is_none(self):
        self.assertEqual(fit("  Main Street 1  ", 4), "Main")
        self.assertIsNone(fit("   ", 10))
        self.assertIsNone(fit(None, 10))
        self.assertIsNone(fit(False, 10))

    def test_whole_never_cuts_an_identifier(self):
        self.assertEqual(whole(" BE0123 ", 6), "BE0123")
        self.assertIsNone(whole("BE01234", 6))
        self.assertIsNone(whole("", 6))
        self.assertIsNone(whole(None, 6))

    def test_compact_drops_empty_values_but_keeps_zero_and_false(self):
        values = {"a": None, "b": "", "c": [], "d": {}, "e": 0, "f": 0.0, "g": False, "h": "x"}
        self.assertEqual(compact(values), {"e": 0, "f": 0.0, "g": False, "h": "x"})


class TestPayloadLanguages(BaseCase):
    def test_language_tag(self):
        self.assertEqual(basware_language("en_US"), "en-US")
        self.assertEqual(basware_language("sr@latin"), "sr@latin")
        self.assertEqual(len(basware_language("x" * 20)), 10)

    def test_english_first_then_the_others_sorted(self):
        self.assertEqual(
            ordered_languages(["nl_BE", "fr_FR", "en_US", "de_DE"]),
            ["en_US", "de_DE", "fr_FR", "nl_BE"],
        )
        self.assertEqual(ordered_languages(["fr_FR"]), ["en_US", "fr_FR"])

    def test_translation_item(self):
        self.assertEqual(
            translation_item("fr_FR", "  Frais  ", prefix="6100"),
            {"language": "fr-FR", "translation": "Frais"},
        )

    def test_a_short_name_gets_the_code_in_front_or_a_pad(self):
        self.assertEqual(translation_item("en_US", "X", prefix="6100")["translation"], "6100 X")
        self.assertEqual(
            translation_item("en_US", "", prefix="")["translation"], SHORT_NAME_PAD * 2
        )
        self.assertEqual(translation_item("en_US", None, prefix="7")["translation"], "7" + "_")

    def test_a_long_name_is_cut(self):
        item = translation_item("en_US", "n" * (TRANSLATION_MAX + 5))
        self.assertEqual(len(item["translation"]), TRANSLATION_MAX)


class TestPayloadBanksAndTaxes(BaseCase):
    def test_iban_check_digits(self):
        self.assertTrue(is_iban(SANITIZED_IBAN))
        self.assertTrue(is_iban("NL91ABNA0417164300"))
        self.assertFalse(is_iban("BE69539007547034"))
        self.assertFalse(is_iban("123456789012"))

    def test_split_charge(self):
        self.assertEqual(split_charge([21.0]), (21.0, 0))
        # A reverse charge: +21 % and -21 % charge nothing and self-assess 21 %.
        self.assertEqual(split_charge([21.0, -21.0]), (0.0, 21.0))
        # A withholding lowers the charge; what it cancels is self-assessed.
        self.assertEqual(split_charge([21.0, -15.0]), (6.0, 15.0))
        self.assertEqual(split_charge([]), (0, 0))


class TestCodes(BaseCase):
    def test_fallback_code_is_the_prefix_and_the_id(self):
        self.assertEqual(fallback_code(TAX_CODE_PREFIX, SimpleNamespace(id=42)), "ODOO-TAX-42")

    def test_every_coding_field_has_a_limit(self):
        self.assertEqual(CODE_LIMITS["vendorCode"], CODE_MAX)
        for n in range(1, 11):
            self.assertEqual(CODE_LIMITS[f"dimCode{n}"], DIMENSION_CODE_MAX)
