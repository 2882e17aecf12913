"""The URL rules shared by the configured endpoints and every redirect target."""

from urllib.parse import urlsplit

import requests

from odoo.tests.common import BaseCase

from ..basware import urls


class TestUrlRules(BaseCase):
    def assertReasons(self, expected):
        for url, reason in expected.items():
            with self.subTest(url=url):
                self.assertEqual(urls.url_problem(url), reason)

    def test_allowed(self):
        self.assertReasons(
            {
                "https://api.basware.com": None,
                "https://test-api.basware.com/v1/vendors?pageSize=10": None,
                "https://bucket.s3.eu-west-1.amazonaws.com/p/k?X-Amz-Signature=abc": None,
                "https://8.8.8.8/": None,
                "https://xn--bcher-kva.example/": None,
                "https://api.basware.com:443/": None,
            }
        )

    def test_loopback_may_use_plain_http(self):
        self.assertReasons(
            {
                "http://127.0.0.1:8069/v1/tokens": None,
                "http://localhost:8069/": None,
                "http://LOCALHOST./": None,
                "http://[::1]:8069/": None,
                "http://127.1/": None,
                "http://[::ffff:127.0.0.1]/": None,
                "https://127.0.0.1/": None,
            }
        )

    def test_plain_http_elsewhere(self):
        self.assertReasons(
            {
                "http://api.basware.com/": urls.REASON_PLAIN_HTTP,
                "http://8.8.8.8/": urls.REASON_PLAIN_HTTP,
                "http://localhost.example.com/": urls.REASON_PLAIN_HTTP,
            }
        )

    def test_scheme_and_empty(self):
        self.assertReasons(
            {
                "ftp://api.basware.com/": urls.REASON_SCHEME,
                "file:///etc/passwd": urls.REASON_SCHEME,
                "api.basware.com": urls.REASON_SCHEME,
                "https:///v1/vendors": urls.REASON_EMPTY,
                "": urls.REASON_EMPTY,
                None: urls.REASON_EMPTY,
                "https://api.basware.com:99999/": urls.REASON_MALFORMED,
                "https://[::1/": urls.REASON_MALFORMED,
            }
        )

    def test_metadata_names(self):
        self.assertReasons(
            {
                "https://metadata.google.internal/computeMetadata/v1/": urls.REASON_METADATA,
                "https://METADATA.google.internal./": urls.REASON_METADATA,
                "https://metadata/": urls.REASON_METADATA,
                "https://instance-data.ec2.internal/": urls.REASON_METADATA,
                "http://metadata.azure.internal/": urls.REASON_METADATA,
            }
        )

    def test_metadata_addresses(self):
        self.assertReasons(
            {
                "http://169.254.169.254/latest/meta-data/": urls.REASON_METADATA,
                "https://169.254.169.254/": urls.REASON_METADATA,
                "https://169.254.170.2/v2/credentials": urls.REASON_METADATA,
                "https://100.100.100.200/latest/meta-data": urls.REASON_METADATA,
                "https://192.0.0.192/opc/v2/instance/": urls.REASON_METADATA,
                "https://[fd00:ec2::254]/": urls.REASON_METADATA,
            }
        )

    def test_legacy_numeric_forms(self):
        # The resolver reads all of these as 169.254.169.254.
        self.assertReasons(
            {
                "https://2852039166/": urls.REASON_METADATA,
                "https://0xa9fea9fe/": urls.REASON_METADATA,
                "https://0XA9FEA9FE/": urls.REASON_METADATA,
                "https://0xa9.0xfe.0xa9.0xfe/": urls.REASON_METADATA,
                "https://0251.0376.0251.0376/": urls.REASON_METADATA,
                "https://169.16689662/": urls.REASON_METADATA,
                "https://169.254.169.254./": urls.REASON_METADATA,
                "https://0/": urls.REASON_PRIVATE,
                "https://012.1/": urls.REASON_PRIVATE,
            }
        )
        self.assertEqual(str(urls.parse_ip("2852039166")), "169.254.169.254")
        self.assertIsNone(urls.parse_ip("cafe.be"))
        self.assertIsNone(urls.parse_ip("api.basware.com"))

    def test_ipv6_forms_of_ipv4(self):
        self.assertReasons(
            {
                "https://[::ffff:169.254.169.254]/": urls.REASON_METADATA,
                "https://[::ffff:a9fe:a9fe]/": urls.REASON_METADATA,
                "https://[::ffff:10.0.0.1]/": urls.REASON_PRIVATE,
                # 6to4 and NAT64 relay to the IPv4 address they carry.
                "https://[2002:a9fe:a9fe::]/": urls.REASON_METADATA,
                "https://[64:ff9b::a9fe:a9fe]/": urls.REASON_METADATA,
                "https://[2002:0a00:0001::]/": urls.REASON_PRIVATE,
            }
        )

    def test_link_local(self):
        self.assertReasons(
            {
                "https://169.254.1.1/": urls.REASON_LINK_LOCAL,
                "https://[fe80::1]/": urls.REASON_LINK_LOCAL,
                "https://[fe80::1%25eth0]/": urls.REASON_LINK_LOCAL,
            }
        )

    def test_private_and_reserved_ranges(self):
        self.assertReasons(
            {
                "https://10.0.0.1/": urls.REASON_PRIVATE,
                "https://172.16.5.4/": urls.REASON_PRIVATE,
                "https://172.31.255.255/": urls.REASON_PRIVATE,
                "https://192.168.1.1/": urls.REASON_PRIVATE,
                "https://100.64.0.1/": urls.REASON_PRIVATE,
                "https://198.18.0.1/": urls.REASON_PRIVATE,
                "https://0.0.0.0/": urls.REASON_PRIVATE,
                "https://224.0.0.1/": urls.REASON_PRIVATE,
                "https://240.0.0.1/": urls.REASON_PRIVATE,
                "https://[fd12:3456::1]/": urls.REASON_PRIVATE,
                "https://[::]/": urls.REASON_PRIVATE,
                "https://[ff02::1]/": urls.REASON_PRIVATE,
            }
        )
        self.assertIsNone(urls.url_problem("https://172.32.0.1/"), "outside 172.16/12")

    def test_credentials(self):
        self.assertReasons(
            {
                "https://user:secret@api.basware.com/": urls.REASON_CREDENTIALS,
                "https://user@api.basware.com/": urls.REASON_CREDENTIALS,
                "https://:secret@api.basware.com/": urls.REASON_CREDENTIALS,
                "https://@api.basware.com/": urls.REASON_CREDENTIALS,
                "http://127.0.0.1@169.254.169.254/": urls.REASON_CREDENTIALS,
            }
        )

    def test_control_characters_and_spaces(self):
        self.assertReasons(
            {
                "https://api.basware.com/v1\r\nX-Injected: 1": urls.REASON_CONTROL,
                "https://api.basware.com/\x00": urls.REASON_CONTROL,
                "https://api.basware\t.com/": urls.REASON_CONTROL,
                " https://api.basware.com/": urls.REASON_CONTROL,
                "https://api.basware.com/a b": urls.REASON_CONTROL,
                "https://api.basware.com/\x7f": urls.REASON_CONTROL,
                "https://api.basware.com/\x85": urls.REASON_CONTROL,
                "https://api.basware.com/\u202e": urls.REASON_CONTROL,
                "https://api.basware.com/\u3000": urls.REASON_CONTROL,
            }
        )

    def test_hosts_other_parsers_read_differently(self):
        # requests ends the host at the backslash and connects to 10.0.0.5.
        sent = requests.Request("GET", "https://10.0.0.5\\.example.com/").prepare().url
        self.assertEqual(urlsplit(sent).hostname, "10.0.0.5")
        self.assertReasons(
            {
                "https://10.0.0.5\\.example.com/": urls.REASON_BACKSLASH,
                "https://api.basware.com\\@10.0.0.5/": urls.REASON_BACKSLASH,
                # requests decodes the escapes: 169.254.169.254.
                "https://%31%36%39.254.169.254/": urls.REASON_HOST_CHARACTERS,
                # IDNA maps full-width digits and ideographic dots to ASCII.
                "https://\uff11\uff16\uff19.254.169.254/": urls.REASON_HOST_CHARACTERS,
                "https://169\u3002254\u3002169\u3002254/": urls.REASON_HOST_CHARACTERS,
                "https://b\u00fccher.example/": urls.REASON_HOST_CHARACTERS,
            }
        )

    def test_refused_url_message_quotes_no_secret(self):
        self.assertIsNone(urls.url_problem("https://api.basware.com"))
        reason = urls.url_problem("https://user:secret@169.254.169.254/?X-Amz-Signature=sig")
        self.assertEqual(reason, urls.REASON_CREDENTIALS)
        message = urls.MESSAGES[reason]
        self.assertNotIn("secret", message)
        self.assertNotIn("sig", message)

    def test_every_reason_has_a_message(self):
        reasons = {value for name, value in vars(urls).items() if name.startswith("REASON_")}
        self.assertEqual(reasons, set(urls.MESSAGES))
