"""TLS verification and credentials, from the config file to a real TLS server.

A certificate authority is generated locally with trustme; a small HTTPS server
(the standard library's, in a thread) listens on a free loopback port with a
certificate from it and answers `GET /clusters`. The client is built exactly as
the console builds it: `KostyorClient(**settings.client_options())`.
"""

import base64
import json
import ssl
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import KostyorError, Unreachable
from kostyor_tui.config import ConfigError, load_settings, render_settings
from kostyor_tui.headless.exit_codes import exit_code_for

PASSWORD = "tls-pw-Secret-314"
TOKEN = "tls-token-Secret-271"


@dataclass
class TLSServer:
    url: str
    ca: trustme.CA
    requests: list[dict[str, str]] = field(default_factory=list)


class _ClustersHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        if self.path.rstrip("/") != "/clusters":
            self._send(404, {"message": "not found"})
            return
        self._send(200, [{"id": "c1", "name": "home_lab", "status": None, "version": "mitaka"}])

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean; the requests are recorded in `seen`


@pytest.fixture
def tls_server() -> Iterator[TLSServer]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ClustersHandler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        yield TLSServer(url=f"https://127.0.0.1:{port}", ca=ca, requests=httpd.seen)  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def write_profile(directory: Path, body: str) -> Path:
    path = directory / "config.toml"
    path.write_text("[profiles.default]\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(0o600)
    return path


def list_cluster_names(options: dict[str, object]) -> list[str]:
    with KostyorClient(**options) as client:  # type: ignore[arg-type]
        return [cluster.name for cluster in client.list_clusters()]


def test_unknown_ca_fails_verification_with_a_clear_message(
    tls_server: TLSServer, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\n')
    settings = load_settings(config_path=path, environ={})
    assert settings.verify is True
    with pytest.raises(Unreachable) as caught:
        list_cluster_names(settings.client_options())
    message = caught.value.one_line().lower()
    assert "certificate" in message
    assert "ca_bundle" in message or "insecure" in message
    assert exit_code_for(caught.value) == 6
    assert tls_server.requests == []


def test_ca_bundle_makes_verification_pass(tls_server: TLSServer, tmp_path: Path) -> None:
    tls_server.ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\nca_bundle = "ca.pem"\n')
    settings = load_settings(config_path=path, environ={})
    assert settings.verify == str(tmp_path / "ca.pem")
    assert list_cluster_names(settings.client_options()) == ["home_lab"]
    assert settings.warnings == []


def test_a_different_ca_in_ca_bundle_still_fails(tls_server: TLSServer, tmp_path: Path) -> None:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\nca_bundle = "other-ca.pem"\n')
    settings = load_settings(config_path=path, environ={})
    with pytest.raises(Unreachable, match=r"(?i)certificate"):
        list_cluster_names(settings.client_options())


def test_insecure_connects_without_verification_and_warns(
    tls_server: TLSServer, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\n')
    settings = load_settings(config_path=path, insecure=True, environ={})
    assert list_cluster_names(settings.client_options()) == ["home_lab"]
    assert any("verification is off (--insecure)" in w for w in settings.warnings)


def test_credentials_from_config_reach_the_server_and_nowhere_else(
    tls_server: TLSServer, tmp_path: Path
) -> None:
    tls_server.ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    script = tmp_path / "secret-tool"
    script.write_text(f"#!{sys.executable}\nprint({PASSWORD!r})\n")
    script.chmod(0o700)
    path = write_profile(
        tmp_path,
        f"""\
        api_url = "{tls_server.url}"
        ca_bundle = "ca.pem"
        username = "operator"
        password_command = "{script} --id kostyor"
        """,
    )
    settings = load_settings(config_path=path, environ={"KOSTYOR_TOKEN": TOKEN})
    assert list_cluster_names(settings.client_options()) == ["home_lab"]

    headers = {key.lower(): value for key, value in tls_server.requests[-1].items()}
    expected_basic = base64.b64encode(f"operator:{PASSWORD}".encode()).decode()
    assert headers["authorization"] == f"Basic {expected_basic}"
    assert headers["x-auth-token"] == TOKEN

    shown = render_settings(settings) + "\n".join(settings.warnings) + repr(settings)
    assert PASSWORD not in shown
    assert TOKEN not in shown


def test_ca_bundle_that_is_not_pem_is_a_clear_error(tls_server: TLSServer, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("this is not a certificate\n")
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\nca_bundle = "ca.pem"\n')
    settings = load_settings(config_path=path, environ={})
    with pytest.raises(KostyorError) as caught:
        list_cluster_names(settings.client_options())
    message = caught.value.one_line()
    assert str(tmp_path / "ca.pem") in message
    assert "PEM" in message
    assert tls_server.requests == []


# Where trust comes from: a directory, OS_CACERT, the system's store (truststore)


def test_a_directory_of_ca_files_as_ca_bundle(tls_server: TLSServer, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    trustme.CA().cert_pem.write_to_path(str(certs / "another.pem"))
    tls_server.ca.cert_pem.write_to_path(str(certs / "internal-ca.crt"))
    (certs / "README").write_text("not a certificate\n")
    (certs / "broken.pem").write_text("not a certificate either\n")
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\nca_bundle = "certs"\n')
    settings = load_settings(config_path=path, environ={})
    assert settings.verify == str(certs)
    assert list_cluster_names(settings.client_options()) == ["home_lab"]


def test_os_cacert_is_trusted_when_the_profile_names_no_ca_bundle(
    tls_server: TLSServer, tmp_path: Path
) -> None:
    tls_server.ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\n')
    settings = load_settings(config_path=path, environ={"OS_CACERT": str(tmp_path / "ca.pem")})
    assert settings.verify == str(tmp_path / "ca.pem")
    assert settings.sources["ca_bundle"] == "env"
    assert list_cluster_names(settings.client_options()) == ["home_lab"]
    assert "(environment)" in render_settings(settings).split("ca_bundle", 1)[1].splitlines()[0]


def test_the_profiles_ca_bundle_beats_os_cacert(tls_server: TLSServer, tmp_path: Path) -> None:
    tls_server.ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    path = write_profile(tmp_path, f'api_url = "{tls_server.url}"\nca_bundle = "ca.pem"\n')
    # OS_CACERT belongs to the OpenStack cloud the shell was set up for: not this endpoint.
    settings = load_settings(config_path=path, environ={"OS_CACERT": "/nowhere/ca.pem"})
    assert settings.verify == str(tmp_path / "ca.pem")
    assert settings.sources["ca_bundle"] == "profile"


def test_a_missing_os_cacert_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write_profile(tmp_path, 'api_url = "https://k.example"\n')
    with pytest.raises(ConfigError, match=r"ca_bundle /nowhere/ca\.pem \(from OS_CACERT\)"):
        load_settings(config_path=path, environ={"OS_CACERT": "/nowhere/ca.pem"})


def test_the_system_store_is_truststores_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import truststore

    from kostyor_tui.api.transport import ssl_context

    assert isinstance(ssl_context(True), truststore.SSLContext)
    monkeypatch.setitem(sys.modules, "truststore", None)  # as if not installed
    context = ssl_context(True)
    assert not isinstance(context, truststore.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
