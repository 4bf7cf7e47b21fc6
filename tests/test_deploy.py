"""The production stack as deployed: collectstatic under production settings,
the nginx configuration (`nginx -t`), and the app served through nginx and
gunicorn on loopback, slow clients included."""

import gzip
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

sys.path.insert(0, str(Path(settings.BASE_DIR) / "deploy"))
import serve  # noqa: E402 - deploy/serve.py, what `make serve` runs

NGINX = shutil.which("nginx")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


def fetch(url, **headers):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, dict(response.headers), response.read()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A fresh SQLite catalog served by gunicorn (2 workers) behind nginx on loopback."""
    tmp = tmp_path_factory.mktemp("stack")
    port = serve.free_port()
    env = serve.environment(port, behind_nginx=NGINX is not None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests' setting, never a deployment's
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        WHITENOISE_USE_FINDERS="0",
        GUNICORN_ACCESS_LOG="",
    )
    redis_url = "redis://127.0.0.1:6379/12"
    if serve.redis_answers(redis_url):
        env.update(REDIS_URL=redis_url, WEB_CONCURRENCY="2")
    else:
        env.pop("REDIS_URL", None)
        env["WEB_CONCURRENCY"] = "1"
    serve.prepare(env)
    processes = serve.start(port, tmp=str(tmp), env=env, use_nginx=NGINX is not None)
    try:
        yield f"http://127.0.0.1:{port}", tmp, env
    finally:
        serve.stop(processes)


def test_collectstatic_with_production_settings_hashes_and_compresses(stack):
    _, tmp, _ = stack
    static = tmp / "static"
    manifest = static / "staticfiles.json"
    assert manifest.exists()
    hashed = [p.name for p in (static / "css").iterdir()]
    css = next(name for name in hashed if name.startswith("site.") and name.endswith(".css") and name != "site.css")
    assert f"{css}.gz" in hashed  # served to clients that accept gzip, without compressing per request


@needs_nginx
def test_the_nginx_site_config_passes_nginx_t(tmp_path):
    """deploy/nginx/meshportal.conf, with a throwaway certificate in place of the real one."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS server block")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    site = (Path(settings.BASE_DIR) / "deploy/nginx/meshportal.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/meshportal.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/meshportal.example.org/privkey.pem", str(key))
    site = site.replace("/srv/meshportal", str(settings.BASE_DIR))
    (tmp_path / "site.conf").write_text(site)
    main = f"""pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{}}
http {{ client_body_temp_path {tmp_path}/b; proxy_temp_path {tmp_path}/p; fastcgi_temp_path {tmp_path}/f;
uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s; include {tmp_path}/site.conf; }}
"""
    (tmp_path / "nginx.conf").write_text(main)
    result = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_pages_come_through_the_stack_compressed_with_the_security_headers(stack):
    base, _, _ = stack
    status, headers, body = fetch(f"{base}/topics/istio/", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    html = gzip.decompress(body).decode()
    assert "<h1>Istio - Service Mesh</h1>" in html
    assert f'<link rel="canonical" href="{base}/topics/istio/' in html
    css = html.split('rel="stylesheet" href="')[1].split('"')[0]
    assert css.startswith("/static/css/site.") and css != "/static/css/site.css"  # the hashed name
    status, headers, _ = fetch(f"{base}{css}", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]


def test_the_site_files_and_the_styled_404_come_through_the_stack(stack):
    base, _, _ = stack
    assert fetch(f"{base}/favicon.ico")[0] == 200
    assert b"Sitemap: " in fetch(f"{base}/robots.txt")[2]
    assert b"sitemap-topics.xml" in fetch(f"{base}/sitemap.xml")[2]
    with pytest.raises(urllib.error.HTTPError) as missing:
        fetch(f"{base}/no-such-page/")
    assert missing.value.code == 404 and b"<h1>Page not found</h1>" in missing.value.read()


def half_open(base, count):
    """Connections that send half a request line, then nothing."""
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"GET /topics/istio/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(s)
    return sockets


@needs_nginx
def test_half_open_connections_do_not_stall_the_site(stack):
    base, _, _ = stack
    sockets = half_open(base, 50)
    try:
        started = time.monotonic()
        for _ in range(5):
            assert fetch(f"{base}/topics/istio/")[0] == 200
        assert time.monotonic() - started < 5
    finally:
        for s in sockets:
            s.close()


def test_the_workers_share_the_parents_index_and_follow_writes(stack):
    """gunicorn's parent builds the facet index before it forks the workers (preload), and
    each worker still follows the change log: a write through another process is counted
    by every worker's next request."""
    base, _, env = stack
    word = "zyzzyvapreload"

    def count():
        _, _, body = fetch(f"{base}/browse/?q={word}&format=json")
        return json.loads(body)["count"]

    assert [count() for _ in range(4)] == [0] * 4
    url = json.loads(fetch(f"{base}/browse/?format=json")[2])["results"][0]["url"]
    rename = f"from catalog.models import Entry; Entry.objects.filter(url={url!r}).update(title={word!r})"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", rename], cwd=settings.BASE_DIR, env=env, check=True)
    assert [count() for _ in range(6)] == [1] * 6


def test_a_bad_deployment_does_not_start(tmp_path):
    """gunicorn's start-up runs the deployment checks: several workers without Redis stop it."""
    env = serve.environment(serve.free_port(), behind_nginx=False)
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    env.update(WEB_CONCURRENCY="2", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", GUNICORN_BIND="127.0.0.1:0")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "meshportal.wsgi"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "meshportal.E001" in result.stderr and "not starting" in result.stderr


def test_the_systemd_units_run_commands_that_exist():
    """Each unit's command is a manage.py command of this project, or gunicorn with the repo's config."""
    from django.core.management import get_commands

    units = sorted((Path(settings.BASE_DIR) / "deploy/systemd").glob("meshportal*.*"))
    services = [u for u in units if u.suffix == ".service"]
    assert {u.stem for u in units if u.suffix == ".timer"} <= {s.stem for s in services}
    for unit in services:
        lines = unit.read_text().splitlines()
        assert "EnvironmentFile=/etc/meshportal.env" in lines and "User=meshportal" in lines, unit.name
        for line in (line for line in lines if line.startswith("ExecStart=")):
            command = line.removeprefix("ExecStart=").split()
            if "manage.py" in command:
                assert command[command.index("manage.py") + 1] in get_commands(), f"{unit.name}: {line}"
            elif "gunicorn" in command[0]:
                assert (Path(settings.BASE_DIR) / command[command.index("-c") + 1]).exists()
            else:
                assert command[0].startswith("/usr/bin/"), f"{unit.name}: {line}"
