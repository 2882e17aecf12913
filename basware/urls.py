"""Which URLs the connector may call: the configured endpoints and every redirect target.

One rule set serves both, so a redirect cannot reach what a backend could not be set to:
https only (plain http on the loopback, for a local sandbox), no credentials in the URL,
no control characters, and no link-local, cloud-metadata or private-network host.
"""

import ipaddress
import socket
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
# Metadata services outside the link-local range (Alibaba Cloud, AWS over IPv6).
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)

REASON_EMPTY = "empty"
REASON_CONTROL = "control_characters"
REASON_SCHEME = "scheme"
REASON_CREDENTIALS = "credentials"
REASON_METADATA = "metadata"
REASON_LINK_LOCAL = "link_local"
REASON_PRIVATE = "private"
REASON_PLAIN_HTTP = "plain_http"

MESSAGES = {
    REASON_EMPTY: "the URL has no host",
    REASON_CONTROL: "the URL contains control characters or spaces",
    REASON_SCHEME: "only https:// URLs are allowed",
    REASON_CREDENTIALS: "the URL must not carry a user name or password (user:password@)",
    REASON_METADATA: "the host is a cloud instance-metadata service",
    REASON_LINK_LOCAL: "the host is a link-local address",
    REASON_PRIVATE: "the host is in a private or reserved network range",
    REASON_PLAIN_HTTP: "plain http:// is only allowed for a server on this machine (loopback)",
}


class UnsafeURLError(ValueError):
    """A URL the connector must not call; ``reason`` is one of the REASON_* codes."""

    def __init__(self, reason):
        self.reason = reason
        super().__init__(MESSAGES[reason])


def parse_ip(hostname):
    """The IP address a host name spells, also in legacy forms (``2852039166``, ``0xa9.…``).

    Returns None for a real name. Legacy forms matter because the resolver accepts them.
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
    if address is None or address.is_loopback:
        return None
    if address in METADATA_ADDRESSES:
        return REASON_METADATA
    if address.is_link_local:
        return REASON_LINK_LOCAL
    shared = ipaddress.ip_network("100.64.0.0/10")
    if (
        address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or (address.version == 4 and address in shared)
    ):
        return REASON_PRIVATE
    return None


def url_problem(url):
    """The REASON_* code that forbids calling ``url``, or None when it is allowed."""
    url = url or ""
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        return REASON_CONTROL
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return REASON_EMPTY
    if parts.scheme not in (SCHEME_HTTPS, SCHEME_HTTP):
        return REASON_SCHEME
    if not hostname:
        return REASON_EMPTY
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return REASON_CREDENTIALS
    reason = _host_reason(hostname)
    if reason:
        return reason
    if parts.scheme == SCHEME_HTTP and not is_loopback_host(hostname):
        return REASON_PLAIN_HTTP
    return None


def check_url(url):
    """Raise :class:`UnsafeURLError` when the connector must not call ``url``."""
    reason = url_problem(url)
    if reason:
        raise UnsafeURLError(reason)
