"""deploy/nginx: the rendered site is the template's, nginx accepts it, and a real nginx (standalone, as this user,
on loopback) in front of fake upstreams does what the comments say: forwarded headers, body limits, static caching,
failover between gunicorns, websockets to daphne."""

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from messaging.services.ingest import WEBHOOK_MAX_BYTES
from messaging.services.media import MB, UPLOAD_MAX_BYTES
from tests.fakes.server import Response, ScriptedServer

BASE_DIR = Path(__file__).resolve().parents[2]
RENDER = BASE_DIR / "deploy" / "render.py"
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


def render(kind: str, **variables: str) -> str:
    result = subprocess.run(
        [sys.executable, str(RENDER), kind, *(f"--set={name}={value}" for name, value in variables.items())],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def _limits(config: str) -> dict[str, int]:
    """client_max_body_size per location ("server" for the server's own)."""
    limits, where = {}, "server"
    for line in config.splitlines():
        line = line.strip()
        if line.startswith("location "):
            where = line.split()[1]
        elif line == "}":
            where = "server"
        elif line.startswith("client_max_body_size "):
            limits[where] = _size(line.split()[1].rstrip(";"))
    return limits


def test_the_committed_site_is_the_template_rendered_with_the_defaults():
    assert (BASE_DIR / "deploy" / "nginx" / "whatsapp-hub.conf").read_text() == render("site")


def test_body_limits_are_the_hubs():
    assert _limits(render("site")) == {
        # The largest upload the hub takes, with room for the multipart envelope.
        "server": UPLOAD_MAX_BYTES + MB,
        "/webhooks/": WEBHOOK_MAX_BYTES,
        "/api/v1/auth/": WEBHOOK_MAX_BYTES,
    }
    assert WEBHOOK_MAX_BYTES == 3 * 1024 * 1024  # == DATA_UPLOAD_MAX_MEMORY_SIZE's default, the JSON limit


def test_unknown_variables_and_bad_upstreams_are_refused():
    for args in (["--set=LISTN=8080"], ["--set=GUNICORN=127.0.0.1"], ["--set=TLS=maybe"]):
        result = subprocess.run([sys.executable, str(RENDER), "site", *args], capture_output=True, text=True)
        assert result.returncode == 1, args
    result = subprocess.run(
        [sys.executable, str(RENDER), "site", "--set=GUNICORN=127.0.0.1; evil"], capture_output=True, text=True
    )
    assert result.stderr.strip() == "GUNICORN: '127.0.0.1; evil' is not host:port or unix:/path."


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _nginx_test(prefix: Path, config: str) -> subprocess.CompletedProcess:
    (prefix / "nginx.conf").write_text(config)
    return subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
    )


@needs_nginx
@pytest.mark.parametrize("tls", ["on", "off"])
def test_nginx_accepts_the_configuration(tmp_path, tls):
    cert, key = _self_signed(tmp_path)
    variables = {"PREFIX": str(tmp_path), "TLS": tls, "STATIC_ROOT": str(tmp_path / "static")}
    if tls == "on":
        variables.update(LISTEN=f"127.0.0.1:{free_port()}", HTTP_LISTEN=f"127.0.0.1:{free_port()}")
        variables.update(TLS_CERT=str(cert), TLS_KEY=str(key))
    else:
        variables.update(LISTEN=f"127.0.0.1:{free_port()}")
    subprocess.run(
        [sys.executable, str(RENDER), "standalone", *(f"--set={k}={v}" for k, v in variables.items())],
        check=True,
        capture_output=True,
    )  # creates the temporary directories

    result = _nginx_test(tmp_path, render("standalone", **variables))

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class Nginx:
    def __init__(self, prefix: Path, **variables: str):
        self.prefix = prefix
        self.port = free_port()
        variables = {"PREFIX": str(prefix), "TLS": "off", "LISTEN": f"127.0.0.1:{self.port}", **variables}
        if os.geteuid() == 0:  # CI runs as root: nginx's workers would otherwise be nobody, shut out of tmp_path
            variables["WORKER_USER"] = "root"
        subprocess.run(
            [sys.executable, str(RENDER), "standalone", "-o", str(prefix / "nginx.conf")]
            + [f"--set={k}={v}" for k, v in variables.items()],
            check=True,
            capture_output=True,
        )
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(prefix),
                "-c",
                str(prefix / "nginx.conf"),
                "-e",
                str(prefix / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {self.process.stderr.read().decode()}") from None
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def upstream():
    server = ScriptedServer().start()
    server.default = Response(200, b'{"ok": true}')
    yield server
    server.stop()


class EchoWebsocket:
    """A websocket server standing in for daphne: echoes frames, keeps each handshake's headers."""

    def __init__(self):
        from websockets.sync.server import serve

        self.handshakes = []

        def handler(connection):
            self.handshakes.append((connection.request.path, dict(connection.request.headers.raw_items())))
            for message in connection:
                connection.send(message)

        self.server = serve(handler, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def static_root(tmp_path):
    root = tmp_path / "static"
    (root / "css").mkdir(parents=True)
    (root / "css" / "app.css").write_text("body{}")
    (root / "css" / "app.0123456789ab.css").write_text("body{color:red}" * 100)
    (root / "css" / "app.0123456789ab.css.gz").write_bytes(gzip.compress(b"body{color:red}" * 100))
    return root


@pytest.fixture
def nginx(tmp_path, upstream, static_root):
    # Two gunicorns: one down (its port closed, as while it restarts), one up.
    daphne = EchoWebsocket()
    server = Nginx(
        tmp_path / "nginx",
        GUNICORN=f"127.0.0.1:{free_port()},127.0.0.1:{upstream.port}",
        DAPHNE=f"127.0.0.1:{daphne.port}",
        STATIC_ROOT=str(static_root),
        SERVER_NAME="hub.test",
    )
    server.daphne = daphne
    yield server
    server.stop()
    daphne.stop()


@needs_nginx
def test_only_the_trusted_forwarded_headers_reach_the_hub(nginx, upstream):
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Ssl": "on",
        "X-Forwarded-Protocol": "ssl",
        "X-Real-IP": "203.0.113.9",
        "Forwarded": "for=203.0.113.9;proto=https",
        "X-Request-ID": "mine",
    }

    for _ in range(4):  # each goes past the gunicorn that is down
        response = requests.get(f"{nginx.url}/api/v1/conversations/?page=2", headers=forged, timeout=10)
        assert response.status_code == 200

    assert len(upstream.requests) == 4
    request = upstream.requests[0]
    assert (request.method, request.path, request.query) == ("GET", "/api/v1/conversations/", {"page": "2"})
    assert request.headers["Host"] == f"127.0.0.1:{nginx.port}"
    assert request.headers["X-Forwarded-For"] == "127.0.0.1"  # the peer nginx saw, nothing the client wrote
    assert request.headers["X-Forwarded-Proto"] == "http"  # the scheme the client used (no TLS here)
    assert len(request.headers["X-Request-ID"]) == 32 and request.headers["X-Request-ID"] != "mine"
    for name in ("X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Ssl", "X-Forwarded-Protocol", "X-Real-IP"):
        assert name not in request.headers, name
    assert "Forwarded" not in request.headers


@needs_nginx
def test_a_webhook_over_the_hubs_limit_is_refused_by_nginx(nginx, upstream):
    at_limit = requests.post(f"{nginx.url}/webhooks/meta/1/", data=b"x" * WEBHOOK_MAX_BYTES, timeout=30)
    over = requests.post(f"{nginx.url}/webhooks/meta/1/", data=b"x" * (WEBHOOK_MAX_BYTES + 1), timeout=30)

    assert (at_limit.status_code, over.status_code) == (200, 413)
    assert [len(request.body) for request in upstream.requests] == [WEBHOOK_MAX_BYTES]


@needs_nginx
def test_an_upload_over_the_largest_file_is_refused_before_its_body(nginx, upstream):
    def declared(length: int) -> bytes:
        with socket.create_connection(("127.0.0.1", nginx.port), timeout=10) as sock:
            sock.sendall(
                f"POST /api/v1/media/ HTTP/1.1\r\nHost: hub.test\r\nContent-Length: {length}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            if length <= UPLOAD_MAX_BYTES + MB:
                return b""
            return sock.recv(200)

    assert declared(UPLOAD_MAX_BYTES + MB + 1).startswith(b"HTTP/1.1 413 ")
    # A 5 MB upload (over the JSON limit) goes through to the hub, which checks each route's own limit.
    response = requests.post(f"{nginx.url}/api/v1/media/", data=b"x" * (5 * MB), timeout=30)
    assert response.status_code == 200
    assert [len(request.body) for request in upstream.requests] == [5 * MB]


@needs_nginx
def test_static_files_come_from_disk_with_long_cache_for_hashed_names(nginx, upstream):
    hashed = requests.get(f"{nginx.url}/static/css/app.0123456789ab.css", timeout=10)
    gzipped = requests.get(
        f"{nginx.url}/static/css/app.0123456789ab.css", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10
    )
    plain = requests.get(f"{nginx.url}/static/css/app.css", timeout=10)
    missing = requests.get(f"{nginx.url}/static/css/nope.css", timeout=10)

    assert (hashed.status_code, hashed.text) == (200, "body{color:red}" * 100)
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert (plain.status_code, plain.text, plain.headers["Cache-Control"]) == (200, "body{}", "public, max-age=60")
    assert missing.status_code == 404
    assert upstream.requests == []


@needs_nginx
def test_media_urls_go_to_the_hub_never_to_disk(nginx, upstream):
    requests.get(f"{nginx.url}/media/1/secret.pdf", timeout=10)

    assert [request.path for request in upstream.requests] == ["/media/1/secret.pdf"]


@needs_nginx
def test_websockets_are_upgraded_to_daphne(nginx, upstream):
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{nginx.port}/ws/inbox/?ticket=t1", origin="http://hub.test") as socket_:
        socket_.send('{"type": "ping"}')
        assert socket_.recv(timeout=10) == '{"type": "ping"}'

    [(path, headers)] = nginx.daphne.handshakes
    assert path == "/ws/inbox/?ticket=t1"
    assert (headers["Upgrade"], headers["Connection"]) == ("websocket", "upgrade")
    assert (headers["X-Forwarded-For"], headers["X-Forwarded-Proto"], headers["Origin"]) == (
        "127.0.0.1",
        "http",
        "http://hub.test",
    )
    assert upstream.requests == []
