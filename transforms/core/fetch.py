"""A polite, defensive HTTP client for feeds and article pages.

Feeds are untrusted input: a feed can link anywhere, including the cloud
metadata server or a service on the worker's own network.  So:

* only ``http`` and ``https`` URLs are fetched;
* the host is resolved here, every address it resolves to is checked
  (anything that is not globally routable is refused unless listed in
  ``allow_networks``, and so is an IPv6 address that carries a refused IPv4
  address inside it: IPv4-mapped, 6to4, NAT64, Teredo), and the connection
  goes to the checked address, so a DNS answer cannot change between check
  and use;
* redirects are followed by hand, to a limit, and every hop is checked again;
* bodies are capped before and after decompression (``max_bytes``), with
  ``Content-Encoding`` decoded here chunk by chunk, so a gzip bomb stops at
  the cap instead of filling memory; a caller that only needs the start of
  a body (robots.txt) asks for a prefix instead;
* every request has connect/read timeouts and one wall-clock deadline for
  the whole exchange, headers included: a watchdog shuts the socket when it
  passes, so a server dripping a byte at a time cannot hold a worker.

Politeness: a User-Agent naming the project, conditional GET (ETag,
Last-Modified), a ``pace(host)`` hook called before every request (the
Beam stage paces per host with keyed state), and bounded retries with
exponential backoff on 429 and 5xx that honour ``Retry-After``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

USER_AGENT = "newsbeam/0.1 (news ingest for conflict research; +https://github.com/newsbeam/newsbeam)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Exception):
    """A fetch that did not give a usable body; ``reason`` is the reject reason."""

    def __init__(self, reason: str, detail: str, url: str, status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail} ({url})")
        self.reason = reason
        self.detail = detail
        self.url = url
        self.status = status


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str = USER_AGENT
    timeout: float = 10.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    max_retries: int = 3
    backoff_seconds: float = 1.0
    max_retry_after: float = 120.0
    allow_networks: tuple[Network, ...] = ()

    @property
    def deadline_seconds(self) -> float:
        """Wall-clock limit of one request, from connect to the body's last
        byte: a server that drips one byte per read never trips the read
        timeout, so the whole exchange has this limit too."""
        return self.timeout * 3


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_networks(spec: str | None) -> tuple[Network, ...]:
    """'127.0.0.1/32,10.0.0.0/8' -> networks; ValueError on a bad entry."""
    if not spec:
        return ()
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


# Special-purpose ranges that are not globally reachable (IANA registries),
# listed here as well because ``is_global`` misses some of them on older
# Pythons (192.0.0.0/24, ::/96, 64:ff9b:1::/48 pass on 3.11).
_NOT_GLOBAL: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/96", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS = ("unspecified", "loopback", "link_local", "private", "multicast", "reserved")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a packet to ``addr`` may end up at: 6to4 carries one,
    Teredo two (its server and its client)."""
    found = []
    if addr.sixtofour:
        found.append(addr.sixtofour)
    if addr.teredo:
        found.extend(addr.teredo)
    return found


def _refusal(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, allow: tuple[Network, ...]) -> str | None:
    if any(addr.version == net.version and addr in net for net in allow):
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        # IPv4-mapped: the connection goes to the IPv4 address itself;
        # NAT64 (what DNS64 answers on an IPv6-only network): a translator
        # connects to it.  Either way that address is what must be allowed.
        if addr.ipv4_mapped:
            return _refusal(addr.ipv4_mapped, allow)
        if addr in _NAT64:
            return _refusal(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), allow)
    for kind in _KINDS:
        if getattr(addr, f"is_{kind}"):
            return f"{addr} is a {kind.replace('_', '-')} address"
    if not addr.is_global or any(addr.version == net.version and addr in net for net in _NOT_GLOBAL):
        return f"{addr} is not a globally routable address"
    if isinstance(addr, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(addr):
            refusal = _refusal(inner, allow)
            if refusal:
                return f"{addr} leads to {inner}: {refusal}"
    return None


def address_refusal(ip: str, allow: Iterable[Network]) -> str | None:
    """Why ``ip`` must not be fetched from, or None when it may: only
    globally routable addresses may, and those ``allow`` lists."""
    return _refusal(ipaddress.ip_address(ip.split("%", 1)[0]), tuple(allow))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


class _Decoder:
    """Content-Encoding decoding with a hard cap on the output."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.total = 0
        # Whether the body goes on past the cap (what was past it is dropped).
        self.over = False
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)
        else:
            raise ValueError(encoding)

    @property
    def truncated(self) -> bool:
        """Whether a compressed body stopped before its end (a stream cut short)."""
        return self._z is not None and not self._z.eof

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of ``chunk``, cut at the cap."""
        if self._z is None:
            out = chunk
        else:
            # Never more than one byte past the cap, so a bomb stops here.
            out = self._z.decompress(chunk, self.cap - self.total + 1)
            if self._z.unconsumed_tail:
                self.over = True
        room = self.cap - self.total
        if len(out) > room:
            out, self.over = out[:room], True
        self.total += len(out)
        return out


class _Deadline:
    """One wall-clock limit for one request.  Socket timeouts bound each
    read, not their sum; at the deadline this shuts the request's socket
    from a timer thread, which ends whatever read is blocked on it, in the
    header phase as in the body."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        """The connected socket.  Kept here because http.client lets go of
        it once a response that closes the connection has begun."""
        self._sock = sock
        if self.fired:  # it fired while connecting, before there was a socket to shut
            self._expire()

    def _expire(self) -> None:
        self.fired = True
        if self._sock is not None:
            try:
                # The plain socket's shutdown, also under TLS: it only
                # touches the descriptor, not the TLS object another thread uses.
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


class Fetcher:
    """GET with the guards above.  ``pace(host)`` is called before every
    request; ``sleep`` waits out backoffs (both injectable for tests)."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        pace: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        resolver: Resolver = resolve,
    ) -> None:
        self.policy = policy
        self.pace = pace or (lambda host: None)
        self.sleep = sleep
        self.resolver = resolver

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str = "*/*", prefix: int | None = None) -> Response:  # fmt: skip
        """The final response (2xx or 304) after redirects and retries;
        FetchError otherwise.  With ``prefix``, a body longer than that is
        cut to its first ``prefix`` bytes (after decompression) instead of
        being refused as too large."""
        headers = {"User-Agent": self.policy.user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            response = self._with_retries(current, headers, prefix)
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise FetchError("bad_redirect", f"HTTP {response.status} without Location", current)
                current = urljoin(current, location)
                continue
            if response.status == 304 or 200 <= response.status < 300:
                return response
            raise FetchError("http_error", f"HTTP {response.status}", current, response.status)
        raise FetchError("too_many_redirects", f"more than {self.policy.max_redirects} redirects", url)

    def _with_retries(self, url: str, headers: dict[str, str], prefix: int | None) -> Response:
        attempt = 0
        while True:
            response = self._once(url, headers, prefix)
            if response.status not in RETRY_STATUSES:
                return response
            if attempt >= self.policy.max_retries:
                raise FetchError(
                    "http_error", f"HTTP {response.status} after {attempt + 1} attempts", url, response.status
                )
            wait = self.policy.backoff_seconds * 2**attempt
            advised = retry_after_seconds(response.headers.get("retry-after"))
            if advised is not None:
                if advised > self.policy.max_retry_after:
                    raise FetchError(
                        "http_error",
                        f"HTTP {response.status}, Retry-After {advised:.0f} s is over the "
                        f"{self.policy.max_retry_after:.0f} s newsbeam waits at most",
                        url,
                        response.status,
                    )
                wait = max(wait, advised)
            self.sleep(wait)
            attempt += 1

    def _target(self, url: str) -> tuple[str, str, int, str, str]:
        """(scheme, host, port, checked address, path) of ``url``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError("bad_scheme", f"only http and https are fetched, not {scheme or 'no scheme'!r}", url)
        host = parts.hostname
        if not host:
            raise FetchError("bad_url", "no host", url)
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError("bad_url", str(exc), url) from exc
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError("dns_error", f"{host}: {exc}", url) from exc
        if not addresses:
            raise FetchError("dns_error", f"{host} has no address", url)
        for ip in addresses:
            refusal = address_refusal(ip, self.policy.allow_networks)
            if refusal:
                raise FetchError("forbidden_address", f"{host}: {refusal}", url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return scheme, host, port, addresses[0], path

    def _once(self, url: str, headers: dict[str, str], prefix: int | None) -> Response:
        scheme, host, port, ip, path = self._target(url)
        self.pace(host)
        limit = self.policy.deadline_seconds
        # No single connect or read may outlast the request's deadline.
        timeout = min(self.policy.timeout, limit)
        default_port = 443 if scheme == "https" else 80
        host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        # One connection per request, to the checked address: a pool would
        # hide the socket the deadline has to shut.
        if scheme == "https":
            conn: HTTPConnection = HTTPSConnection(
                ip, port, timeout=timeout, server_hostname=host, assert_hostname=host
            )
        else:
            conn = HTTPConnection(ip, port, timeout=timeout)
        deadline = _Deadline(limit)
        timed_out = FetchError("timeout", f"no complete answer within {limit:g} s", url)
        try:
            with deadline:
                conn.connect()
                deadline.watch(conn.sock)
                conn.request(
                    "GET", path, headers={**headers, "Host": host_header}, preload_content=False,
                    decode_content=False,
                )  # fmt: skip
                resp = conn.getresponse()
                response = self._read(url, resp, prefix)
            if deadline.fired:  # the body may look complete after the socket was shut
                raise timed_out
            return response
        except FetchError as exc:
            if deadline.fired and exc is not timed_out:
                raise timed_out from exc
            raise
        except (Urllib3Timeout, TimeoutError) as exc:
            raise FetchError("timeout", f"no answer within {timeout:g} s", url) from exc
        except (Urllib3Error, http.client.HTTPException, OSError) as exc:
            if deadline.fired:
                raise timed_out from exc
            raise FetchError("connection_error", f"{type(exc).__name__}: {exc}", url) from exc
        finally:
            conn.close()

    def _read(self, url: str, resp, prefix: int | None) -> Response:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        status = resp.status
        if status in RETRY_STATUSES or status in REDIRECT_STATUSES or status == 304 or status >= 400:
            return Response(url, status, headers)
        cap = self.policy.max_bytes if prefix is None else prefix
        length = headers.get("content-length", "")
        if prefix is None and length.isdigit() and int(length) > cap:
            raise FetchError("too_large", f"Content-Length {length} is over the {cap}-byte cap", url, status)
        try:
            decoder = _Decoder(headers.get("content-encoding", ""), cap)
        except ValueError as exc:
            raise FetchError("bad_encoding", f"unsupported Content-Encoding {exc}", url, status) from exc
        body = bytearray()
        raw = 0
        try:
            for chunk in resp.stream(_CHUNK, decode_content=False):
                raw += len(chunk)
                body += decoder.feed(chunk)
                if decoder.over or raw > cap:
                    if prefix is not None:
                        return Response(url, status, headers, bytes(body))  # the prefix is all that was asked for
                    raise OverflowError
        except OverflowError as exc:
            raise FetchError("too_large", f"body over the {cap}-byte cap (after decompression)", url, status) from exc
        except zlib.error as exc:
            raise FetchError("bad_encoding", f"corrupt compressed body: {exc}", url, status) from exc
        if raw and decoder.truncated:
            # Half a page would pass for a whole one downstream.
            raise FetchError("bad_encoding", "compressed body ends before its compressed stream does", url, status)
        return Response(url, status, headers, bytes(body))


class Pacer:
    """At most ``rate`` requests per second to each host: ``pace(host)``
    sleeps until the host's next slot.  ``slots`` is host -> next allowed
    time (epoch seconds); the Beam stage loads it from keyed state and
    writes it back, so the limit holds across bundles and workers."""

    def __init__(self, rate: float, slots: dict[str, float] | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):  # fmt: skip
        self.interval = 1.0 / rate
        self.slots = dict(slots or {})
        self.clock = clock
        self.sleep = sleep

    def __call__(self, host: str) -> None:
        now = self.clock()
        slot = self.slots.get(host, 0.0)
        if slot > now:
            self.sleep(slot - now)
            now = slot
        self.slots[host] = now + self.interval
