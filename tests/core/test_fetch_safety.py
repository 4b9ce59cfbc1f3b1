"""The fetcher's network guards against hostile servers and links: every
address that is not globally routable is refused (also when an IPv6 address
carries it inside), after every redirect; one wall-clock deadline holds for
a whole request, against servers that drip headers or body a byte at a
time; a body prefix can be asked for instead of a refusal.  Real servers on
127.0.0.1 throughout."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from werkzeug import Response

from transforms.core.fetch import Fetcher, FetchError, FetchPolicy, address_refusal, parse_networks

LOCAL = parse_networks("127.0.0.1/32")


@pytest.mark.parametrize(
    "ip",
    [
        "100.100.100.200",  # Alibaba Cloud's metadata server, in the shared 100.64.0.0/10
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.192",  # Oracle Cloud's metadata server, IETF protocol assignments
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:100.100.100.200",
        "::a9fe:a9fe",  # IPv4-compatible (deprecated)
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
        "2002:6464:64c8::",  # 6to4 of 100.100.100.200
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
        "fe80::1%eth0",
        "ff02::1",
        "ff0e::1",
    ],
)
def test_addresses_that_are_not_globally_routable_are_refused(ip):
    assert address_refusal(ip, ()) is not None


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
        "::ffff:93.184.216.34",
    ],
)
def test_globally_routable_addresses_pass(ip):
    assert address_refusal(ip, ()) is None


def test_an_embedded_address_is_named_in_the_refusal():
    assert "169.254.169.254" in address_refusal("2002:a9fe:a9fe::", ())
    assert "169.254.169.254" in address_refusal("64:ff9b::a9fe:a9fe", ())


def test_allow_networks_still_opens_what_it_lists():
    assert address_refusal("100.100.100.200", parse_networks("100.64.0.0/10")) is None
    assert address_refusal("::ffff:127.0.0.1", LOCAL) is None  # the connection goes to 127.0.0.1
    assert address_refusal("127.0.0.2", LOCAL) is not None


@pytest.mark.parametrize(
    "target",
    ["http://100.100.100.200/latest/meta-data/", "http://[2002:a9fe:a9fe::]/", "http://[64:ff9b::a9fe:a9fe]/"],
)
def test_a_redirect_to_a_forbidden_address_is_refused(server, target):
    server.expect_request("/hop").respond_with_response(Response("", status=302, headers={"Location": target}))
    fetcher = Fetcher(FetchPolicy(allow_networks=LOCAL, timeout=0.5, max_retries=0))
    with pytest.raises(FetchError) as err:
        fetcher.get(server.url_for("/hop"))
    assert err.value.reason == "forbidden_address", err.value
    assert err.value.url == target


def test_a_prefix_is_returned_instead_of_a_refusal(server):
    body = b"User-agent: *\nDisallow: /private/\n" + b"# padding\n" * 50_000
    server.expect_request("/plain").respond_with_data(body)
    server.expect_request("/gz").respond_with_response(
        Response(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    )
    fetcher = Fetcher(FetchPolicy(allow_networks=LOCAL, max_bytes=1000))
    for path in ("/plain", "/gz"):
        assert fetcher.get(server.url_for(path), prefix=4096).body == body[:4096]
        with pytest.raises(FetchError) as err:
            fetcher.get(server.url_for(path))
        assert err.value.reason == "too_large"


def test_a_compressed_body_cut_short_is_refused(server):
    """Half a gzip stream decodes to half a page, which would pass for a page."""
    page = ("صفحة " * 2000).encode()
    packed = gzip.compress(page)
    server.expect_request("/cut").respond_with_response(
        Response(packed[: len(packed) // 2], headers={"Content-Encoding": "gzip"})
    )
    server.expect_request("/whole").respond_with_response(Response(packed, headers={"Content-Encoding": "gzip"}))
    fetcher = Fetcher(FetchPolicy(allow_networks=LOCAL))
    assert fetcher.get(server.url_for("/whole")).body == page
    with pytest.raises(FetchError) as err:
        fetcher.get(server.url_for("/cut"))
    assert err.value.reason == "bad_encoding"


# --- servers that drip: a byte every DRIP seconds, each read well inside the
# read timeout, for far longer than the deadline.
DRIP = 0.2
TIMEOUT = 0.5  # read timeout; the deadline is three of them
DRIP_FOR = 10.0  # how long a dripping server goes on if nobody hangs up


def _drip(conn: socket.socket, data: bytes) -> None:
    for i in range(len(data)):
        conn.sendall(data[i : i + 1])
        time.sleep(DRIP)


def _drip_headers(conn: socket.socket) -> None:
    header = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1000
    _drip(conn, header[: int(DRIP_FOR / DRIP)])


def _drip_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>")
    _drip(conn, b"x" * int(DRIP_FOR / DRIP))


def _drip_body_with_length(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
    _drip(conn, b"x" * int(DRIP_FOR / DRIP))


@pytest.fixture
def slow_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A raw socket server on 127.0.0.1 that reads a request and answers
    with the given function, one thread per connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    behaviour: list[Callable[[socket.socket], None]] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096) or b"\r\n\r\n"
                behaviour[0](conn)
            except OSError:
                pass  # the client hung up: what the tests want

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def url_for(answer: Callable[[socket.socket], None]) -> str:
        behaviour.append(answer)
        return f"http://127.0.0.1:{listener.getsockname()[1]}/page.html"

    yield url_for
    stop.set()
    thread.join()
    listener.close()


@pytest.mark.parametrize("answer", [_drip_headers, _drip_body, _drip_body_with_length])
def test_one_deadline_holds_against_a_server_that_drips(slow_server, answer):
    policy = FetchPolicy(allow_networks=LOCAL, timeout=TIMEOUT, max_retries=0)
    url = slow_server(answer)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        Fetcher(policy).get(url)
    elapsed = time.monotonic() - started
    assert err.value.reason == "timeout", err.value
    # A correctness bound, not a benchmark: the deadline plus generous slack.
    assert policy.deadline_seconds <= elapsed + 0.1 and elapsed < policy.deadline_seconds + 3, elapsed
