"""Egress: the one way out to an address a tenant chose.

Every request to a URL that came from a tenant goes through `request()`: a WAHA base URL now; outbound webhooks,
flow HTTP steps, LLM and embedding base URLs and document URL imports as they come. Operator settings
(`WHATSAPP_GRAPH_URL`, and what Meta's API hands back) are trusted and do not come through here.

The policy
- `http` and `https` only. A base URL (`check_base_url`, at save time) has no user name or password, no query and
  no fragment, and its host is a name, a dotted IPv4 address or a bracketed IPv6 address: the odd spellings
  (`127.1`, `0x7f.1`, `2130706433`) are refused outright.
- A destination is allowed when
  1. it is the origin (scheme, host and port) of the operator's own `WAHA_URL`: nothing else on that host;
  2. its host and port are an `EGRESS_ALLOWED_HOSTS` entry (`waha.internal:3000`, `10.0.0.5:3000`, `[fd00::5]:3000`);
  3. its host is an IP address written in the URL inside an `EGRESS_ALLOWED_HOSTS` CIDR (`10.0.0.0/24`), any port.
     A host *name* is never trusted for where it resolves: list it as `host:port`;
  4. or else the name is resolved once and the address must be public; the connection goes to that very address
     (requests-hardened's adapter, Host header and TLS SNI kept), so a DNS answer that changes afterwards
     (rebinding) cannot move it. At save time every address the name resolves to must be public.
  Public means none of: loopback, private, link-local (cloud metadata 169.254.169.254, fd00:ec2::254), shared
  address space (100.64.0.0/10), multicast, reserved, unspecified, documentation, benchmarking or translation
  ranges, IPv6 site-local; an IPv4-mapped IPv6 address is judged as its IPv4 address.
- Redirects are never followed (a 3xx raises `RedirectNotFollowed`); proxy variables of the environment are
  ignored; every call has timeouts; a body is read up to `max_bytes` (`ResponseTooLarge` beyond).

A refusal raises an `EgressError` (a `requests.RequestException`): its text is safe to show to a user (it names no
host, address or upstream text); what was refused, and why, goes to the log. The save-time check is for the user's
sake (a 400 naming the field); the connect-time check is the real guard.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext
from requests.adapters import HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES, InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TIMEOUT = (3.05, 20.0)  # (connect, read) seconds
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
POOL_CONNECTIONS, POOL_MAXSIZE = 16, 64  # per-host pools, as the provider session's
CHUNK = 64 * 1024

# Python's `is_global` misses these (3.11): IPv6 site-local, and what requests-hardened adds (CG-NAT, 6to4, NAT64,
# 192.0.0.0/24, ...).
NOT_PUBLIC = (*EXTRA_BLOCKED_NET_RANGES, ipaddress.ip_network("fec0::/10"))
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
# A last label of digits or hex is an IPv4 address in an odd spelling (`127.1`, `0x7f.1`, `2130706433`), never a
# top-level domain.
NUMERIC_LABEL = re.compile(r"\d+|0x[0-9a-f]*")


class EgressError(requests.RequestException):
    """A request the policy refused. `str(exc)` is safe to show to a user: no host, address or upstream text."""

    message = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class AddressNotAllowed(EgressError):
    message = "This address is not allowed: the hub only connects to public addresses (or those its operator allows)."


class RedirectNotFollowed(EgressError):
    message = "The server answered with a redirect; the hub does not follow redirects."


class ResponseTooLarge(EgressError):
    message = "The server's answer was too large."


# --- the policy ------------------------------------------------------------------------------------------


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet (see the module docstring for what is not)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in network for network in NOT_PUBLIC)


def ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is written as one (canonical dotted IPv4, or IPv6 without brackets), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _host_key(host: str) -> str:
    """The form hosts are compared in: an address in its canonical spelling, a name in lower case."""
    literal = ip_literal(host)
    return str(literal) if literal is not None else host.lower()


@dataclass(frozen=True)
class AllowList:
    """`EGRESS_ALLOWED_HOSTS` parsed: (host, port) pairs, and networks for addresses written in URLs."""

    hosts: frozenset[tuple[str, int]]
    networks: tuple[IPNetwork, ...]


def _entry_error(entry: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"EGRESS_ALLOWED_HOSTS: {entry!r} is neither host:port (e.g. waha.internal:3000, [fd00::5]:3000) nor a CIDR "
        "(e.g. 10.0.0.0/24)."
    )


@lru_cache(maxsize=8)
def allow_list(entries: tuple[str, ...]) -> AllowList:
    """Parse `EGRESS_ALLOWED_HOSTS` entries; ImproperlyConfigured for one that is neither host:port nor a CIDR."""
    hosts: set[tuple[str, int]] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            if "/" in entry or ip_literal(entry) is not None:  # a bare address is a one-address network
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            host, _, port = entry.rpartition(":")
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
                if not isinstance(ip_literal(host), ipaddress.IPv6Address):
                    raise ValueError(entry)
            if not host or not port.isdigit() or not 0 < int(port) < 65536 or (":" in host and not ip_literal(host)):
                raise ValueError(entry)
        except ValueError:
            raise _entry_error(entry) from None
        hosts.add((_host_key(host), int(port)))
    return AllowList(hosts=frozenset(hosts), networks=tuple(networks))


@lru_cache(maxsize=8)
def _origin_of(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, _host_key(parts.hostname), parts.port or DEFAULT_PORTS[scheme]


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port (`HTTP://Waha:80/x` and `http://waha/` do)."""
    try:
        origin = _origin_of(url)
        return origin is not None and origin == _origin_of(other)
    except ValueError:  # an invalid port
        return False


def is_allowed_by_operator(scheme: str, host: str, port: int | None) -> bool:
    """True when the operator vouches for this destination: the origin of `WAHA_URL`, a host:port entry of
    `EGRESS_ALLOWED_HOSTS`, or an address written in the URL inside one of its CIDRs. Such a destination is not
    checked further (the operator runs it)."""
    scheme = scheme.lower()
    port = port or DEFAULT_PORTS.get(scheme, 0)
    key = _host_key(host)
    if (scheme, key, port) == _origin_of(settings.WAHA_URL):
        return True
    policy = allow_list(tuple(settings.EGRESS_ALLOWED_HOSTS))
    if (key, port) in policy.hosts:
        return True
    address = ip_literal(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and any(address in network for network in policy.networks)


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to; empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [
        ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        for info in infos
        if info[0] in (socket.AF_INET, socket.AF_INET6)
    ]


def check_base_url(url: str) -> None:
    """The save-time check of a base URL a tenant gives; raises `AddressNotAllowed` with a message for the user.

    Resolves the host (every address must be public) unless the operator allows the destination. Passing it does
    not make a later request safe: the connect-time check in `request()` is the guard.
    """
    check_url(url, base=True)


def check_url(url: str, *, base: bool = False) -> None:
    """`check_base_url`'s check for any URL a tenant gives (a query string is allowed unless `base`).

    For a URL another server fetches on the tenant's behalf (a media link WAHA downloads), this check is the only
    guard the hub has: it cannot pin that server's connection, so a name that resolves differently later (DNS
    rebinding) is that server's to refuse.
    """
    try:
        if any(char.isspace() or not char.isprintable() for char in url):  # urlsplit would drop some silently
            raise ValueError(url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressNotAllowed(gettext("Enter a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise AddressNotAllowed(gettext("Only http and https URLs are allowed."))
    if "@" in parts.netloc:
        raise AddressNotAllowed(gettext("A URL here cannot carry a user name or password."))
    if base and ("?" in url or "#" in url):
        raise AddressNotAllowed(gettext("A base URL cannot have a query string or a fragment."))
    host = parts.hostname
    if not host:
        raise AddressNotAllowed(gettext("Enter a valid URL: it has no host."))
    port = port or DEFAULT_PORTS[scheme]
    if is_allowed_by_operator(scheme, host, port):
        return
    address = ip_literal(host)
    if address is not None:
        addresses = [address]
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = ""
        if not HOSTNAME.fullmatch(ascii_host) or NUMERIC_LABEL.fullmatch(ascii_host.rstrip(".").rsplit(".", 1)[-1]):
            raise AddressNotAllowed(
                gettext("Write the host as a name, a dotted IPv4 address or a bracketed IPv6 address.")
            )
        addresses = _resolve(ascii_host, port)
    if not addresses or not all(is_public(address) for address in addresses):
        logger.info("egress: refused base URL host %r (addresses %s)", host, [str(a) for a in addresses])
        raise AddressNotAllowed(
            gettext(
                "The host must resolve to public addresses only; a private service needs the hub's operator to allow "
                "it."
            )
        )


# --- the client ------------------------------------------------------------------------------------------


class PolicyAdapter(IPFilterAdapter):
    """requests-hardened's adapter (resolve once, refuse private ranges, connect to the address checked, keep Host
    and SNI) behind the operator's allow-list, with the stricter `is_public` applied to the address it pinned."""

    def __init__(self, *, https: bool) -> None:
        super().__init__(is_https_proto=https, allow_loopback=False)
        self._pool_connections, self._pool_maxsize = POOL_CONNECTIONS, POOL_MAXSIZE
        self.init_poolmanager(POOL_CONNECTIONS, POOL_MAXSIZE, block=self._pool_block)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        # The destination as requests connects to it (not a second parse of our own, which could disagree).
        host_params, pool_kwargs = HTTPAdapter.build_connection_pool_key_attributes(self, request, verify, cert)
        scheme, host, port = host_params["scheme"], host_params["host"] or "", host_params["port"]
        if host and is_allowed_by_operator(scheme, host, port):
            return host_params, pool_kwargs
        try:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        except InvalidIPAddress as exc:
            raise AddressNotAllowed() from exc
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if not is_public(pinned):
            logger.warning("egress: refused %s for host %r (not a public address)", pinned, host)
            raise AddressNotAllowed()
        return host_params, pool_kwargs


_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def session() -> requests.Session:
    """The process's pooled policy session (re-created after a fork: sockets are not shared with the parent)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _lock:
            if _session is None or _session_pid != pid:
                config = Config(
                    ip_filter_enable=False,  # our adapters below: the same filter, behind the allow-list
                    ip_filter_allow_loopback_ips=False,
                    never_redirect=True,
                    default_timeout=DEFAULT_TIMEOUT,
                )
                new = HTTPSession(config)
                new.trust_env = False  # proxy variables and .netrc must not reroute or credential tenant traffic
                new.mount("http://", PolicyAdapter(https=False))
                new.mount("https://", PolicyAdapter(https=True))
                _session, _session_pid = new, pid
    return _session


def read_capped(response: requests.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, refusing one over `max_bytes` (decompressed) with ResponseTooLarge."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge()
    chunks, size = [], 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stream: bool = False,
    **kwargs: Any,
) -> requests.Response:
    """One request to a tenant-chosen URL under the policy.

    Without `stream`, the body is read (at most `max_bytes`) and the connection released; with it, the caller
    reads the body (`read_capped`) and closes the response. Raises an EgressError when the policy refuses (the
    address, a redirect, the size), else requests' own exceptions (timeouts, connection errors).
    """
    if urlsplit(url).scheme.lower() not in DEFAULT_PORTS:
        raise AddressNotAllowed(gettext("Only http and https URLs are allowed."))
    response = session().request(method, url, timeout=timeout, stream=True, allow_redirects=False, **kwargs)
    if 300 <= response.status_code < 400:
        response.close()
        logger.warning("egress: %s %s answered %s: not followed", method, _no_query(url), response.status_code)
        raise RedirectNotFollowed()
    if stream:
        return response
    try:
        response._content = read_capped(response, max_bytes)
    finally:
        response.close()
    return response


def _no_query(url: str) -> str:
    """For logs: the URL without its query string (which may carry a token)."""
    return url.split("?", 1)[0]
