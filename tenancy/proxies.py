"""Who the client is: `X-Forwarded-For` and `X-Forwarded-Proto` count only from trusted proxies.

Anyone can send these headers. Believed from any peer, `X-Forwarded-Proto: https` made a plain
HTTP request count as secure (no redirect to HTTPS, `https://` in every URL), and
`X-Forwarded-For` would let a client choose the address its failed logins count against. So
`TrustedProxyMiddleware` believes them only when the connection comes from an address in
`JOBDESK_TRUSTED_PROXIES` (IPs or CIDR networks; none by default):

- the scheme goes into `JOBDESK_FORWARDED_PROTO`, the request key `SECURE_PROXY_SSL_HEADER`
  names; it is not an `HTTP_*` key, so no client can set it with a header;
- `REMOTE_ADDR` becomes the client the proxies name: the right-most `X-Forwarded-For` address
  that is not itself a trusted proxy.

From any other peer the headers stay in the request, unheeded (the metrics endpoint still
reads them to tell a relayed request from a local one).
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

FORWARDED_PROTO_KEY = "JOBDESK_FORWARDED_PROTO"

Network = IPv4Network | IPv6Network


@lru_cache(maxsize=8)
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """Return the trusted proxies as networks (a bare address is a network of one)."""
    try:
        return tuple(ip_network(entry.strip(), strict=False) for entry in trusted)
    except ValueError as error:
        raise ImproperlyConfigured(f"JOBDESK_TRUSTED_PROXIES: {error}") from None


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    """Return True if `address` (any text) is an IP address inside a trusted network."""
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


@lru_cache(maxsize=1024)
def is_trusted_peer(address: str, trusted: tuple[Network, ...]) -> bool:
    """`is_trusted` for the address of the connection (few, and short: remembered)."""
    return is_trusted(address, trusted)


def forwarded_client(forwarded_for: str, trusted: tuple[Network, ...]) -> str | None:
    """Return the right-most address of `X-Forwarded-For` that is not a trusted proxy.

    Addresses left of it were written by the client itself and prove nothing. None if the
    header names no valid address there.
    """
    for hop in reversed(forwarded_for.split(",")):
        if not is_trusted(hop, trusted):
            try:
                return str(ip_address(hop.strip()))
            except ValueError:
                return None
    return None


class TrustedProxyMiddleware:
    """Believe `X-Forwarded-Proto` and `X-Forwarded-For` from trusted proxies only."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        self.believe_proxies(request)
        return self.get_response(request)

    @staticmethod
    def believe_proxies(request: HttpRequest) -> None:
        """Take the scheme and client address from a trusted proxy's headers into META."""
        trusted = networks(tuple(settings.JOBDESK_TRUSTED_PROXIES))
        meta = request.META
        if trusted and is_trusted_peer(meta.get("REMOTE_ADDR", ""), trusted):
            if "HTTP_X_FORWARDED_PROTO" in meta:
                meta[FORWARDED_PROTO_KEY] = meta["HTTP_X_FORWARDED_PROTO"]
            client = forwarded_client(meta.get("HTTP_X_FORWARDED_FOR", ""), trusted)
            if client is not None:
                meta["REMOTE_ADDR"] = client
