"""Run the production stack on this machine over plain http: `make serve`.

The settings of a deployment (DJANGO_DEBUG off, hashed and compressed static
files, the deployment checks) with what plain http on 127.0.0.1 needs (no
HTTPS redirect, no secure-only cookies, no HSTS); gunicorn with
deploy/gunicorn.conf.py, behind nginx with deploy/nginx/proxy.conf when nginx
is installed. Redis: REDIS_URL when set, else redis://127.0.0.1:6379/0 when it
answers, else one gunicorn process (its threads share the memory cache).

    python deploy/serve.py --port 8000      # Ctrl-C stops it
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream meshportal {{
        server 127.0.0.1:{app_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost 127.0.0.1;
        include {root}/deploy/nginx/proxy.conf;
    }}
}}
"""


def say(text):
    print(f"serve: {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(url):
    try:
        import redis

        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return False


def environment(port, *, behind_nginx, env=None):
    env = dict(os.environ if env is None else env)
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS=env.get("DJANGO_ALLOWED_HOSTS") or "localhost,127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_HSTS_SECONDS="0",
        DJANGO_TRUSTED_PROXY_COUNT="1" if behind_nginx else "0",
        SITE_URL=env.get("SITE_URL") or f"http://127.0.0.1:{port}",
        MESHPORTAL_RELEASE=env.get("MESHPORTAL_RELEASE") or f"serve-{int(time.time())}",
    )
    if not env.get("DJANGO_SECRET_KEY"):
        # The checkout's .env (written by make) has one; manage.py and this script read it.
        env_file = ROOT / ".env"
        for line in env_file.read_text().splitlines() if env_file.is_file() else []:
            if line.startswith("DJANGO_SECRET_KEY="):
                env["DJANGO_SECRET_KEY"] = line.split("=", 1)[1].strip()
    if not env.get("REDIS_URL") and not env.get("CACHE_URL"):
        if redis_answers("redis://127.0.0.1:6379/0"):
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        else:
            env["WEB_CONCURRENCY"] = "1"
    return env


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603 - our args


def prepare(env):
    """Static files, schema, the catalog when it is empty, and the deployment checks."""
    say("collecting static files (hashed, compressed)")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "setup_catalog")
    manage(env, "check", "--deploy", "--fail-level", "ERROR")


def wait_for(url, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return response.status
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"serve: {url} did not answer within {seconds} s")


def start(port, *, tmp, env, use_nginx=True):
    """Start gunicorn (and nginx in front when installed); returns the processes."""
    nginx = shutil.which("nginx") if use_nginx else None
    app_port = free_port() if nginx else port
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{app_port}"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "meshportal.wsgi"], cwd=ROOT, env=env
        )
    ]
    try:
        wait_for(f"http://127.0.0.1:{app_port}/robots.txt")
        if nginx:
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, app_port=app_port, root=ROOT))
            subprocess.run([nginx, "-t", "-q", "-c", str(conf)], check=True)  # noqa: S603 - the nginx on PATH
            processes.append(subprocess.Popen([nginx, "-c", str(conf)]))  # noqa: S603
            wait_for(f"http://127.0.0.1:{port}/robots.txt")
    except BaseException:
        stop(processes)
        raise
    return processes


def stop(processes):
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM if process.args[0] != shutil.which("nginx") else signal.SIGQUIT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-nginx", action="store_true", help="gunicorn alone, even when nginx is installed")
    args = parser.parse_args()
    use_nginx = not args.no_nginx and shutil.which("nginx") is not None
    env = environment(args.port, behind_nginx=use_nginx)
    if not env.get("DJANGO_SECRET_KEY"):
        raise SystemExit("serve: no DJANGO_SECRET_KEY and no .env: run `make serve` (it writes .env)")
    prepare(env)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # `kill` stops it as cleanly as Ctrl-C
    signal.signal(signal.SIGINT, interrupted)
    with tempfile.TemporaryDirectory(prefix="meshportal-serve-") as tmp:
        processes = start(args.port, tmp=tmp, env=env, use_nginx=use_nginx)
        workers = env.get("WEB_CONCURRENCY") or "2"
        cache = env.get("REDIS_URL") or "the memory of its one process"
        front = "nginx" if use_nginx else "gunicorn alone (nginx is not installed)"
        say(f"http://127.0.0.1:{args.port}/ : {front}, {workers} gunicorn workers, cache in {cache}. Ctrl-C stops.")
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            say("a process stopped; stopping the others")
        except KeyboardInterrupt:
            say("stopping")
        finally:
            stop(processes)


if __name__ == "__main__":
    main()
