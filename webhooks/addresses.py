"""Where jobdesk may send a tenant's webhooks: not into its own network.

A tenant names the URL, and jobdesk's servers make the request: a URL on loopback, a private
network, link-local (cloud metadata at 169.254.169.254) or any other address that is not
globally routable would let a tenant probe or call services behind jobdesk's firewall (SSRF).
Such URLs are refused when registered and again before every attempt (a name may resolve
elsewhere later), unless `JOBDESK_WEBHOOKS_ALLOW_PRIVATE` is on. Redirects are never followed.
Plain `http` is accepted only with DEBUG on.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    """The URL is not one jobdesk may send to; the message says why."""


def check_url(url: str) -> None:
    """Raise AddressRefused if jobdesk may not send to `url`."""
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed_schemes:
        raise AddressRefused("Use an https:// URL.")
    if not parts.hostname:
        raise AddressRefused("The URL names no host.")
    if parts.username or parts.password:
        raise AddressRefused("Put no user name or password in the URL.")
    check_host(parts.hostname, parts.port)


def check_host(host: str, port: int | None) -> None:
    """Raise AddressRefused if `host` is, or resolves to, an address that is not public."""
    if settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE:
        return
    for address in resolve(host, port):
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"{host} is a loopback, private or reserved address: jobdesk sends webhooks "
                "to public addresses only."
            )


def resolve(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Return every address `host` stands for (itself, if it is one)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise AddressRefused(f"{host} does not resolve.") from None
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
