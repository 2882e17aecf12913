"""Which URLs the connector may call: one rule set for endpoints and redirect targets alike.

https (http on loopback), no credentials or control characters, no link-local, metadata or private
host; only ASCII names and IP literals pass, as requests and urllib3 parse hosts their own way."""

import ipaddress
import re
import socket
import unicodedata
from urllib.parse import urlsplit

SCHEME_HTTPS = "https"
SCHEME_HTTP = "http"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Names that resolve to a cloud provider's instance-metadata service.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.oraclecloud.com",
    }
)
# Instance-metadata services: the common link-local one (AWS, Azure, Google, OpenStack),
# AWS ECS task metadata, Alibaba Cloud, Oracle Cloud, AWS over IPv6.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
    )
)
# Carrier-grade NAT space: not public, yet not "private" for Python's ipaddress.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052).
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"),)
# Letters, digits, dots, hyphens (and underscores, seen in some DNS names).
HOST_NAME_PATTERN = re.compile(r"[a-z0-9_.-]+")
# Unicode categories refused anywhere in a URL: controls, invisible formatting, spaces.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

REASON_EMPTY = "empty"
REASON_MALFORMED = "malformed"
REASON_CONTROL = "control_characters"
REASON_BACKSLASH = "backslash"
REASON_SCHEME = "scheme"
REASON_CREDENTIALS = "credentials"
REASON_HOST_CHARACTERS = "host_characters"
REASON_METADATA = "metadata"
REASON_LINK_LOCAL = "link_local"
REASON_PRIVATE = "private"
REASON_PLAIN_HTTP = "plain_http"

MESSAGES = {
    REASON_EMPTY: "the URL has no host",
    REASON_MALFORMED: "the URL cannot be read (check the host and the port)",
    REASON_CONTROL: "the URL contains control characters or spaces",
    REASON_BACKSLASH: "the URL contains a backslash",
    REASON_SCHEME: "only https:// URLs are allowed",
    REASON_CREDENTIALS: "the URL must not carry a user name or password (user:password@)",
    REASON_HOST_CHARACTERS: (
        "the host may only contain ASCII letters, digits, dots and hyphens, or be an IP address"
    ),
    REASON_METADATA: "the host is a cloud instance-metadata service",
    REASON_LINK_LOCAL: "the host is a link-local address",
    REASON_PRIVATE: "the host is in a private or reserved network range",
    REASON_PLAIN_HTTP: "plain http:// is only allowed for a server on this machine (loopback)",
}


def parse_ip(hostname):
    """The IP address a host name spells, legacy forms included (``2852039166``, ``0xa9.…``) as the
    resolver accepts them; None for a real name.
    """
    host = hostname.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not host or not all(char in "0123456789abcdefx." for char in host.lower()):
            return None
        try:
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _tunnelled_ipv4(address):
    """The IPv4 address a 6to4 or NAT64 address is relayed to, or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.sixtofour:
        return address.sixtofour
    if any(address in prefix for prefix in NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback_host(hostname):
    hostname = (hostname or "").lower().rstrip(".")
    if hostname in LOOPBACK_NAMES:
        return True
    address = parse_ip(hostname)
    return bool(address and address.is_loopback)


def _host_reason(hostname):
    name = hostname.lower().rstrip(".")
    if name in METADATA_NAMES:
        return REASON_METADATA
    address = parse_ip(name)
    if address is None:
        return None
    return _address_reason(_tunnelled_ipv4(address)) or _address_reason(address)


def _address_reason(address):
    if address is None or address.is_loopback:
        return None
    if address in METADATA_ADDRESSES:
        return REASON_METADATA
    if address.is_link_local:
        return REASON_LINK_LOCAL
    if (
        address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or (address.version == 4 and address in SHARED_ADDRESS_SPACE)
    ):
        return REASON_PRIVATE
    return None


def _is_plain_host(hostname):
    """An ASCII host name or an IP literal: what every URL parser reads the same way."""
    if HOST_NAME_PATTERN.fullmatch(hostname):
        return True
    try:
        ipaddress.IPv6Address(hostname)
    except ValueError:
        return False
    return True


def _has_refused_characters(url):
    return any(unicodedata.category(char) in REFUSED_CATEGORIES for char in url)


def url_problem(url):
    """The REASON_* code that forbids calling ``url``, or None when it is allowed."""
    if not url:
        return REASON_EMPTY
    if _has_refused_characters(url):
        return REASON_CONTROL
    if "\\" in url:
        # requests ends the host at a backslash, urlsplit does not: they would disagree.
        return REASON_BACKSLASH
    try:
        parts = urlsplit(url)
        # .port raises ValueError for a port out of range, as requests would refuse it.
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        return REASON_MALFORMED
    if parts.scheme not in (SCHEME_HTTPS, SCHEME_HTTP):
        return REASON_SCHEME
    if not hostname:
        return REASON_EMPTY
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return REASON_CREDENTIALS
    if not _is_plain_host(hostname):
        return REASON_HOST_CHARACTERS
    reason = _host_reason(hostname)
    if reason:
        return reason
    if parts.scheme == SCHEME_HTTP and not is_loopback_host(hostname):
        return REASON_PLAIN_HTTP
    return None
