"""python_inter cases: any network — TCP to local services (a socket the test opens, the database),
UDP, DNS, HTTP, unix sockets. Each test listens on the host and checks nothing arrived."""

from __future__ import annotations

import http.server
import os
import socket
import stat
import threading
from pathlib import Path

from million.sandbox import Sandbox
from million.warehouse.factory import parse_url


def _attempt(sandbox: Sandbox, body: str) -> str:
    """Run `body` (which must raise on failure) and print CONNECTED or the error."""
    code = "import socket, urllib.request\ntry:\n" + "".join(f"    {line}\n" for line in body.splitlines()) + \
           "    print('CONNECTED')\nexcept Exception as e:\n    print('FAILED', type(e).__name__, e)\n"
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    return res.stdout


def _host_addresses() -> list[str]:
    """The host's own non-loopback IPv4 addresses (a service bound to 0.0.0.0 listens there too)."""
    out = []
    for _, name in socket.if_nameindex():
        try:
            import fcntl
            import struct

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
            addr = socket.inet_ntoa(packed[20:24])
        except OSError:
            continue
        if not addr.startswith("127."):
            out.append(addr)
    return out


def test_tcp_to_local_listening_socket(sandbox: Sandbox, host_ok) -> None:
    with socket.socket() as srv:
        srv.bind(("0.0.0.0", 0))
        srv.listen(8)
        srv.settimeout(0.5)
        port = srv.getsockname()[1]
        targets = ["127.0.0.1", *_host_addresses()]
        for host in targets:
            out = _attempt(sandbox, f"socket.create_connection(({host!r}, {port}), timeout=3)")
            assert out.startswith("FAILED"), (host, out)
        try:
            conn, peer = srv.accept()
        except TimeoutError:
            conn = None
        assert conn is None, f"the sandbox reached the host socket from {peer}"


def test_udp_to_local_socket(sandbox: Sandbox, host_ok) -> None:
    # Landlock does not cover UDP: the empty network namespace (loopback down) is what stops it.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.settimeout(0.5)
        port = srv.getsockname()[1]
        out = _attempt(sandbox, f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                f"s.sendto(b'leak', ('127.0.0.1', {port}))\ns.sendto(b'leak', ('8.8.8.8', 53))")
        assert out.startswith("FAILED") and "unreachable" in out.lower(), out
        try:
            data = srv.recv(100)
        except TimeoutError:
            data = b""
        assert data == b""


def test_dns_resolution(sandbox: Sandbox, host_ok) -> None:
    for name in ("example.com", "localhost"):
        out = _attempt(sandbox, f"print(socket.getaddrinfo({name!r}, 80))")
        assert out.startswith("FAILED"), out
    out = _attempt(sandbox, "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'\\x00' * 20, ('1.1.1.1', 53))")
    assert out.startswith("FAILED"), out


def test_http_to_local_server(sandbox: Sandbox, host_ok) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        port = server.server_address[1]
        out = _attempt(sandbox, f"urllib.request.urlopen('http://127.0.0.1:{port}/exfil?x=1', timeout=3)")
        assert out.startswith("FAILED"), out
        out = _attempt(sandbox, "urllib.request.urlopen('https://example.com/', timeout=3)")
        assert out.startswith("FAILED"), out
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_unix_sockets_pathname_and_abstract(sandbox: Sandbox, exposed_dir: Path, host_ok) -> None:
    # A world-connectable socket file: Landlock (ABI <= 7) does not govern connect() to it; the
    # minimal root filesystem does (the path does not exist in the sandbox).
    path = exposed_dir / "service.sock"
    abstract = f"\0million-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX) as named, socket.socket(socket.AF_UNIX) as abst:
        named.bind(str(path))
        os.chmod(path, 0o777)
        named.listen(4)
        named.settimeout(0.3)
        abst.bind(abstract)
        abst.listen(4)
        abst.settimeout(0.3)
        assert stat.S_ISSOCK(path.stat().st_mode)
        for target in (str(path), abstract):
            out = _attempt(sandbox, f"s = socket.socket(socket.AF_UNIX)\ns.connect({target!r})")
            assert out.startswith("FAILED"), (target, out)
        for srv in (named, abst):
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                conn = None
            assert conn is None


def test_cannot_reach_the_database(sandbox: Sandbox, mysql, host_ok) -> None:
    url = parse_url(mysql.reader_url)
    sock = mysql.root_dir / "sock"
    out = _attempt(sandbox, f"socket.create_connection(('127.0.0.1', {url.port}), timeout=3)")
    assert out.startswith("FAILED"), out
    out = _attempt(sandbox, f"s = socket.socket(socket.AF_UNIX)\ns.connect({str(sock)!r})")
    assert out.startswith("FAILED"), out


def test_cannot_enable_loopback_or_raw_sockets(sandbox: Sandbox, host_ok) -> None:
    out = _attempt(sandbox, "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)")
    assert out.startswith("FAILED"), out
    out = _attempt(sandbox, "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.bind(('127.0.0.1', 8080))\ns.listen()")
    assert out.startswith("FAILED"), out
