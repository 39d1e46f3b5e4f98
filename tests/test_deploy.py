"""Deployment: the public address in QR codes, and the app behind a TLS reverse proxy."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from conftest import PASSWORD
from live_server import free_port, server_process

from survey_app import create_app, server

LAN_URL = "http://192.168.1.10:5000"


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:5000", True), ("http://localhost:5000", True), ("http://[::1]:5000/", True),
    ("http://127.1.2.3", True), (LAN_URL, False), ("https://canbao.example.gov.cn", False),
])
def test_public_url_warning_names_loopback_addresses(url, loopback):
    warning = server.public_url_warning(url)
    assert (warning is not None) is loopback
    if loopback:
        assert "CANBAO_PUBLIC_URL" in warning and "手机" in warning and url in warning


def _app(tmp_path, data_dir, public_url):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATA": str(data_dir),
                       "EXPORTS_DIR": str(tmp_path / "exports"), "PUBLIC_URL": public_url})


@pytest.mark.parametrize("url, warned", [("http://127.0.0.1:5000", True), (LAN_URL, False)])
def test_check_warns_of_a_loopback_public_url(tmp_path, data_dir, url, warned):
    result = _app(tmp_path, data_dir, url).test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output  # a warning, not a failure: the data are fine
    assert ("CANBAO_PUBLIC_URL" in result.stderr) is warned


@pytest.mark.parametrize("host, url, warned", [
    ("0.0.0.0", "http://127.0.0.1:5000", True),   # phones reach the server, not its QR codes
    ("127.0.0.1", "http://127.0.0.1:5000", False),  # a laptop demo, or behind a proxy on this machine
    ("0.0.0.0", LAN_URL, False),
])
def test_serve_warns_when_phones_can_reach_it_but_not_its_qr_codes(tmp_path, data_dir, monkeypatch,
                                                                    host, url, warned):
    started = []
    monkeypatch.setattr(server, "check_port", lambda *a: None)
    monkeypatch.setattr(server, "serve", lambda *a, **k: started.append(a))
    result = _app(tmp_path, data_dir, url).test_cli_runner().invoke(
        args=["serve", "--host", host, "--port", "5999"])
    assert result.exit_code == 0, result.output
    assert started and ("CANBAO_PUBLIC_URL" in result.stderr) is warned


@pytest.mark.parametrize("url, warned", [("http://localhost:5000", True), (LAN_URL, False)])
def test_print_room_warns_before_printing_loopback_qr_codes(tmp_path, data_dir, url, warned):
    from conftest import Auth
    client = _app(tmp_path, data_dir, url).test_client()
    Auth(client).login("township")
    page = client.get("/s/print/").get_data(as_text=True)
    assert ("data-public-url-warning" in page) is warned
    if warned:
        assert url in page and "CANBAO_PUBLIC_URL" in page


# -- behind nginx, as the README's "Production: TLS in front" shows -----------------------------

def readme_nginx_server() -> str:
    """The README's nginx server block for TLS, so the test checks the configuration we tell people to use."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```nginx\n(server \{.*?\n\})\n", readme, re.S)
    assert block, "README has no nginx server block"
    return block.group(1)


def nginx_config(folder: Path, listen: int, upstream: str) -> Path:
    server = readme_nginx_server()
    replacements = [(r"listen 443 ssl", f"listen 127.0.0.1:{listen} ssl"),
                    (r"/etc/ssl/canbao.pem", str(folder / "cert.pem")),
                    (r"/etc/ssl/canbao.key", str(folder / "key.pem")),
                    (r"proxy_pass http://127.0.0.1:5000", f"proxy_pass {upstream}")]
    for old, new in replacements:
        assert old in server, old
        server = server.replace(old, new)
    # "Host $host" carries no port: right on 443, but on this test's high port the app would see
    # https://127.0.0.1/ and Flask-WTF would refuse every login (its Referer check compares ports).
    # A deployment on a port other than 443 needs this line too.
    port_header = "proxy_set_header X-Forwarded-Port $server_port;"
    if port_header not in server:
        host_header = "proxy_set_header Host $host;"
        server = server.replace(host_header, f"{host_header}\n{port_header}")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = folder / "nginx.conf"
    config.write_text(f"""{'user root;' if os.geteuid() == 0 else ''}
daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
{server}
}}
""", encoding="utf-8")
    return config


@pytest.fixture
def nginx():
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        if os.environ.get("CI"):
            pytest.fail("CI 中必须安装 nginx（scripts/dev 的 TEST_PACKAGES）")
        pytest.skip("nginx 未安装：apt-get install -y nginx")
    return found


def https_client() -> requests.Session:
    """A client that accepts the self-signed certificate and ignores proxy settings in the environment
    (with them, requests would also put a CA bundle back over ``verify = False``)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = False
    return session


@contextlib.contextmanager
def nginx_in_front(binary: str, folder: Path, upstream: str):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    port = free_port()
    config = nginx_config(folder, port, upstream)
    command = [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited: {process.stderr.read()}")
            try:
                https_client().get(base + "/login", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_behind_nginx_with_tls(nginx, data_dir, tmp_path):
    environment = {"CANBAO_TRUSTED_PROXIES": "1", "CANBAO_HTTPS": "1",
                   "CANBAO_PUBLIC_URL": "https://canbao.example.gov.cn"}
    folder = tmp_path / "nginx"
    folder.mkdir()
    with server_process(data_dir, threads=4, workers=1, environment=environment) as (upstream, _), \
            nginx_in_front(nginx, folder, upstream) as base:
        session = https_client()
        login = session.get(base + "/login")
        assert login.status_code == 200 and "登录" in login.text
        assert login.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = next(c for c in session.cookies if c.name == "session")
        assert cookie.secure
        assert "Secure" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]
        # An absolute URL the app builds itself uses the client's scheme, host and port, not the
        # plain-HTTP address nginx connected to.
        moved = session.get(base + "/s/print", allow_redirects=False)
        assert moved.status_code in (301, 308) and moved.headers["Location"] == base + "/s/print/"
        # Flask-WTF checks the Referer of an HTTPS POST: login works only if the app sees HTTPS.
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        logged_in = session.post(base + "/login", data={"username": "township", "password": PASSWORD,
                                                        "csrf_token": token},
                                 headers={"Referer": base + "/login"}, allow_redirects=False)
        assert logged_in.status_code == 302, logged_in.text
        assert session.get(base + "/s/print/").status_code == 200
