"""ORM-free conversions between Basware documents and Odoo values."""
