"""res.partner for Basware: the VendorEntity of a commercial partner (vendorCode, addresses,
contacts, bank accounts), its exchange history, and the changes that send it again."""

from odoo import models
from odoo.fields import Domain
from odoo.tools import SQL

from ..mapping.payload import compact, fit, whole
from .basware_payload import checked_code, field_label, in_base_lang

NAME_MAX = 250
SOURCE_SYSTEM_MAX = 36
IDENTIFIER_MAX = 36
ADDRESS_NAME_MAX = 200
ADDRESS_LINE_MAX = 200
# streetName, cityName, postalZone and countrySubEntity.
ADDRESS_PART_MAX = 50
CONTACT_NAME_MAX = 200
EMAIL_MAX = 200
PHONE_MAX = 50

SCHEME_VAT = "VAT"
# Basware's identifier keys are configured per tenant in P2P; this one names the national
# company registry number (Odoo's Company ID).
SCHEME_REGISTRY = "OrganizationNumber"
# Odoo's Tax ID for a partner not subject to VAT.
NOT_SUBJECT_TO_VAT = "/"

ADDRESS_SUFFIX = ":address"
ADDRESS_POSTAL = "PostalAddress"
ADDRESS_TYPES = {
    "invoice": "RemittanceAddress",
    "delivery": "DeliveryAddress",
    "other": "AdditionalAddress",
}
ADDITIONAL_STREET = "AdditionalStreetName"
CONTACT_TYPE = "contact"
ROLE_PRIMARY = "PrimaryContact"
ROLE_ADDITIONAL = "AdditionalContact"


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ("res.partner", "basware.history.mixin")

    def write(self, vals):
        # A contact or address moved to another company leaves the vendor it was part of.
        left = self.parent_id if "parent_id" in vals else self.browse()
        result = super().write(vals)
        (left - self.parent_id)._basware_touch()
        return result

    def unlink(self):
        # A contact or address deleted leaves the vendor it was part of.
        (self.parent_id - self)._basware_touch()
        return super().unlink()

    def _basware_touch(self):
        """These partners changed for Basware though none of their own fields did: a
        contact, an address or a bank account left them. Their write date moves, so that
        the vendor flow sends them again, without it."""
        if not self:
            return
        self.env.cr.execute(
            SQL(
                "UPDATE res_partner SET write_date = %s, write_uid = %s WHERE id IN %s",
                self.env.cr.now(),
                self.env.uid,
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(["write_date", "write_uid"])

    def _basware_vendor_code(self, backend):
        """vendorCode: the Reference of the commercial partner, else prefix + its id."""
        self.ensure_one()
        partner = self.commercial_partner_id
        return (partner.ref or "").strip() or f"{backend.vendor_code_prefix or ''}{partner.id}"

    def _basware_checked_code(self, backend, basware_field="vendorCode"):
        partner = self.commercial_partner_id
        if (partner.ref or "").strip():
            source = field_label(partner, "ref")
        else:
            source = self.env._(
                "code made of the backend's %(prefix)s and its id",
                prefix=field_label(backend, "vendor_code_prefix"),
            )
        return checked_code(
            partner,
            self._basware_vendor_code(backend),
            basware_field,
            self.env._("Vendor"),
            source,
        )

    def _basware_vendor_values(self, backend):
        """VendorEntity of this commercial partner on ``backend``: read only, no write."""
        self.ensure_one()
        vendor_code = self._basware_checked_code(backend)
        return compact(
            {
                "externalCode": backend._basware_external_code(self),
                "vendorCode": vendor_code,
                "name": fit(self.name, NAME_MAX) or vendor_code,
                "sourceSystem": fit(backend.source_system, SOURCE_SYSTEM_MAX),
                "companies": backend._basware_companies(inheritToChildUnits=True),
                "identifiers": self._basware_identifiers(),
                "addresses": self._basware_addresses(backend),
                "contacts": self._basware_contacts(backend),
                "paymentMeans": self._basware_payment_means(backend),
                "paymentTerms": self._basware_payment_terms(backend),
                # An archived partner goes out inactive.
                "processingStatus": {"active": self.active},
            }
        )

    def _basware_identifiers(self):
        """Tax ID and company registry number, when set and short enough to be whole."""
        identifiers = []
        for scheme, value in ((SCHEME_VAT, self.vat), (SCHEME_REGISTRY, self.company_registry)):
            value = whole(value, IDENTIFIER_MAX)
            if value and value != NOT_SUBJECT_TO_VAT:
                identifiers.append({"schemeId": scheme, "id": value})
        return identifiers

    def _basware_addresses(self, backend):
        """The partner's own address (postal, the default), then its invoice, delivery and
        other addresses: each with a stable externalCode, none without an address part."""
        addresses = [self._basware_address(backend, ADDRESS_POSTAL, default=True)]
        addresses += [
            child._basware_address(backend, ADDRESS_TYPES[child.type])
            for child in self._basware_children(backend)
            if child.type in ADDRESS_TYPES
        ]
        return [address for address in addresses if address]

    def _basware_address(self, backend, address_type, default=False):
        street2 = fit(self.street2, ADDRESS_LINE_MAX)
        parts = compact(
            {
                # P2P reads the street name (50 characters) and the additional street name;
                # Vendor Manager reads the address lines, which keep the whole streets.
                "streetName": fit(self.street, ADDRESS_PART_MAX),
                "addressLine1": fit(self.street, ADDRESS_LINE_MAX),
                "addressLine2": street2,
                "postalZone": fit(self.zip, ADDRESS_PART_MAX),
                "cityName": fit(self.city, ADDRESS_PART_MAX),
                "countrySubEntity": (
                    fit(in_base_lang(self.state_id).name, ADDRESS_PART_MAX)
                    if self.state_id
                    else None
                ),
                "countryId": self.country_id.code or None,
                "additionalAddressFields": street2
                and [{"key": ADDITIONAL_STREET, "value": street2}],
            }
        )
        if not parts:
            return None
        name = self.name or self.commercial_partner_id.name
        return {
            "externalCode": backend._basware_external_code(self, suffix=ADDRESS_SUFFIX),
            "name": fit(name, ADDRESS_NAME_MAX) or address_type,
            "addressType": address_type,
            "default": default,
            **parts,
        }

    def _basware_children(self, backend):
        """The partner's contacts and addresses the backend's company may see: shared ones
        and those of the company or its parents (a shared vendor's contacts of another
        company are that company's business)."""
        company = Domain(self._check_company_domain(backend.company_id))
        return self.child_ids.filtered_domain(company).sorted("id")

    def _basware_contacts(self, backend):
        """The partner, then its contact persons with an email or a phone. The name is the contact's
        key in Basware: a repeated name gets the contact's id.
        """
        people = [(self, ROLE_PRIMARY)] + [
            (child, ROLE_ADDITIONAL)
            for child in self._basware_children(backend)
            if child.type == CONTACT_TYPE
        ]
        contacts, names = [], set()
        for person, role in people:
            reach = compact(
                {
                    "email": whole(person.email, EMAIL_MAX),
                    "telephone": fit(person.phone, PHONE_MAX),
                }
            )
            if not reach:
                continue
            name = fit(person.name, CONTACT_NAME_MAX) or reach.get("email") or str(person.id)
            if name in names:
                suffix = f" ({person.id})"
                name = name[: CONTACT_NAME_MAX - len(suffix)] + suffix
            names.add(name)
            contacts.append({"name": name, "role": role, **reach})
        return contacts

    def _basware_payment_means(self, backend):
        """One payment means per bank account trusted for payments (Send Money): an untrusted
        account must not become a known vendor account in Basware. The first is the default."""
        banks = self.bank_ids.filtered(lambda bank: bank.active and bank.allow_out_payment)
        means = []
        for bank in banks.sorted(lambda bank: (bank.sequence, bank.id)):
            mean = bank._basware_payment_mean(backend, default=not means)
            if mean:
                means.append(mean)
        return means

    def _basware_payment_terms(self, backend):
        """The vendor's payment term in the backend's company, when it has one."""
        term = self.with_company(backend.company_id).property_supplier_payment_term_id
        return {"paymentTermCode": term._basware_checked_code(backend)} if term else None
