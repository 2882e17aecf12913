"""The ORM side of the payload builders: names per installed language, and RecordRefused.

Builders only read, and give the same JSON whatever the caller's language, so the payload hash of an
unchanged record stays the same."""

from odoo.exceptions import UserError

from ..mapping.codes import CODE_LIMITS
from ..mapping.payload import BASE_LANG, ordered_languages, translation_item


class RecordRefused(UserError):
    """A record Basware cannot take as it is (a code too long, taxes the API cannot
    carry): the record is not sent, and its binding is rejected with this message."""


def in_base_lang(record):
    """``record`` read in en_US: one-language names must not follow the caller's language."""
    return record.with_context(lang=BASE_LANG)


def translations(record, field_name, prefix=""):
    """LanguageTranslationEntity items of a translated field, one per installed language, read on
    the record's prefetch set: one query per language for a batch.
    """
    installed = [code for code, _name in record.env["res.lang"].get_installed()]
    return [
        translation_item(code, record.with_context(lang=code)[field_name], prefix)
        for code in ordered_languages(installed)
    ]


def field_label(record, field_name):
    return record._fields[field_name]._description_string(record.env)


def checked_code(record, code, basware_field, kind, source):
    """``code`` when Basware takes it whole in ``basware_field``, else RecordRefused naming ``kind``
    ("Vendor") and ``source`` (a field's label), so the AP team knows what to shorten.
    """
    size = CODE_LIMITS[basware_field]
    if len(code) <= size:
        return code
    raise RecordRefused(
        record.env._(
            "%(kind)s '%(name)s' (id %(id)s): its %(origin)s '%(code)s' is %(length)s "
            "characters long; Basware takes at most %(size)s for %(field)s.",
            kind=kind,
            name=record.display_name,
            id=record.id,
            origin=source,
            code=code,
            length=len(code),
            size=size,
            field=basware_field,
        )
    )
