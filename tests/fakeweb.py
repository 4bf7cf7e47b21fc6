"""Loopback fake servers for the link checker and GitHub tests (and bench/).

`FakeSite` serves, on 127.0.0.1 and a free port, the answers the checker
must handle: 200 pages, redirect chains and loops, 404/410, slow and
slow-loris answers, 10 MB bodies, parked and soft-404 pages, non-UTF-8
titles, Retry-After. It counts every request it receives, so a test can
assert that no connection was made. `stub_lookup` maps host names to
addresses without DNS, so `http://site.test:<port>/` reaches the fake.
"""

import asyncio
import random
import struct
import threading
import zlib
from collections import Counter

from aiohttp import web

PAGE = "<html><head><title>{title}</title></head><body><p>{body}</p></body></html>"


def html(title, body="Content.", status=200, **headers):
    return web.Response(
        text=PAGE.format(title=title, body=body), status=status, content_type="text/html", headers=headers
    )


def redirect(location, status=301):
    return web.Response(status=status, headers={"Location": location})


def png(size=16, rgb=(0x46, 0x6B, 0xD8)):
    """A real PNG image: a `size`-pixel square of one colour."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def image(data, content_type="image/png"):
    return web.Response(body=data, content_type=content_type)


# /favicon.ico as each logo test host answers it (the host name's first label picks).
BIG = b"\x89PNG\r\n\x1a\n" + b"\x00" * (100 * 1024)
FAVICONS = {
    "good": lambda: image(png(), "image/x-icon"),
    "other": lambda: image(png(rgb=(0xD8, 0x6B, 0x46))),
    "html": lambda: html("Welcome", "Not an icon at all."),
    "big": lambda: image(BIG),
    "missing": lambda: html("Not found", status=404),
    "svg": lambda: web.Response(text='<svg xmlns="http://www.w3.org/2000/svg"></svg>', content_type="image/svg+xml"),
}


class FakeSite:
    """An aiohttp app on its own event loop thread; `with FakeSite() as site: site.url("/ok")`."""

    def __init__(self, host="site.test", *, ssl_context=None, bench=False):
        self.host, self.ssl_context, self.bench = host, ssl_context, bench
        self.hits = Counter()
        self.methods = []
        self.user_agents = set()
        self.port = None
        self._rate_limited_once = set()
        self.host_hits = Counter()  # (host name, path)
        self.in_flight = self.most_in_flight = 0

    def url(self, path, host=None):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    # --- routes ---------------------------------------------------------
    async def handle(self, request):
        path = request.path
        self.hits[path] += 1
        self.methods.append((request.method, path))
        self.user_agents.add(request.headers.get("User-Agent", ""))
        if self.bench:
            return await self.bench_answer(request)
        host = (request.host or "").split(":")[0]
        self.host_hits[(host, path)] += 1
        if path == "/favicon.ico" or path.startswith("/avatars/"):
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await self.logo_answer(request, host.split(".")[0])
            finally:
                self.in_flight -= 1
        routes = {
            "/ok": lambda: html("Welcome to the site"),
            "/": lambda: html("Home"),
            "/file.pdf": lambda: web.Response(body=b"%PDF-1.4", content_type="application/pdf"),
            "/moved": lambda: redirect("/ok"),
            "/moved-308": lambda: redirect("/ok", 308),
            "/temporary": lambda: redirect("/ok", 302),
            "/loop-a": lambda: redirect("/loop-b"),
            "/loop-b": lambda: redirect("/loop-a"),
            "/gone": lambda: html("Gone", status=410),
            "/missing": lambda: html("Not here", status=404),
            "/error": lambda: html("Oops", status=500),
            "/forbidden": lambda: html("Access denied", status=403),
            "/parked": lambda: html("example.com", "This domain is for sale! Buy this domain today."),
            "/soft-404": lambda: html("Page Not Found | Example"),
            "/docs/deep/page": lambda: redirect("/"),
            "/latin1": lambda: web.Response(
                body="<html><title>Caf\u00e9 r\u00e9seau</title></html>".encode("latin-1"),
                headers={"Content-Type": "text/html; charset=iso-8859-1"},
            ),
            "/bad-bytes": lambda: web.Response(
                body=b"<html><title>Broken \xff\xfe bytes</title></html>", headers={"Content-Type": "text/html"}
            ),
        }
        if path in routes:
            return routes[path]()
        if path.startswith("/avatar-image/"):
            return image(png(rgb=(0x24, 0x29, 0x2F)))
        if path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            return redirect(f"/chain/{n - 1}" if n > 1 else "/ok")
        if path == "/head-refused":
            return web.Response(status=405) if request.method == "HEAD" else html("Works with GET")
        if path == "/redirect-to":
            return redirect(request.query["to"])
        if path == "/retry-after":
            key = request.query.get("key", "")
            if key not in self._rate_limited_once:
                self._rate_limited_once.add(key)
                return web.Response(status=429, headers={"Retry-After": request.query.get("wait", "1")})
            return html("Served after waiting")
        if path == "/always-429":
            return web.Response(status=429, headers={"Retry-After": "3600"})
        if path == "/slow":
            await asyncio.sleep(float(request.query.get("seconds", "5")))
            return html("Finally")
        if path == "/slowloris":
            return await self.slowloris(request)
        if path == "/huge":
            return await self.huge(request)
        return html("Not found", status=404)

    async def logo_answer(self, request, name):
        """Site icons (by host name, see FAVICONS) and avatars (/avatars/<owner>.png redirects to the image)."""
        path = request.path
        if path.startswith("/avatars/"):
            await asyncio.sleep(0.05)  # long enough for concurrent requests to overlap
            return redirect(f"/avatar-image/{path.rsplit('/', 1)[1]}", 302)
        if name == "slow":
            await asyncio.sleep(float(request.query.get("seconds", "5")))
            return image(png())
        if name == "bigstream":  # no Content-Length: only reading tells it is too large
            response = web.StreamResponse(headers={"Content-Type": "image/png"})
            await response.prepare(request)
            try:
                for _ in range(64):  # 4 MiB, slowly enough for a hang-up to be seen
                    await response.write(BIG[:65536])
                    self.hits["/bigstream bytes"] += 65536
                    await asyncio.sleep(0.01)
            except (ConnectionError, asyncio.CancelledError):
                pass
            return response
        return FAVICONS.get(name, FAVICONS["missing"])()

    async def slowloris(self, request):
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        try:
            for _ in range(600):
                await response.write(b" ")
                await asyncio.sleep(0.2)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def huge(self, request):
        """10 MB of HTML; counts how many bytes actually went out."""
        response = web.StreamResponse(headers={"Content-Type": "text/html", "Content-Length": str(10 * 2**20)})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        chunk = b"<p>" + b"x" * 65533
        sent = 0
        try:
            while sent < 10 * 2**20:
                await response.write(chunk[: min(len(chunk), 10 * 2**20 - sent)])
                sent += len(chunk)
                self.hits["/huge bytes"] = sent
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def bench_answer(self, request):
        """The bench's mix: 50-500 ms, mostly pages, some files, redirects and 404s."""
        await asyncio.sleep(random.uniform(0.05, 0.5))  # noqa: S311
        kind = request.path.rsplit("/", 1)[-1]
        if kind.startswith("r"):
            return redirect(request.path[: -len(kind)] + "p" + kind[1:])
        if kind.startswith("m"):
            return html("Not found", status=404)
        if kind.startswith("f"):
            return web.Response(body=b"%PDF-1.4 " * 100, content_type="application/pdf")
        return html(f"Page {kind}", "Some text. " * 200)

    # --- lifecycle ------------------------------------------------------
    def __enter__(self):
        started = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def start():
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self.handle)
            self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl_context, backlog=1024)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        def serve():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        started.wait(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def stub_lookup(mapping):
    """A lookup for GuardedResolver: host name -> list of addresses, no DNS involved."""

    async def lookup(host, port):
        if host not in mapping:
            raise OSError(f"stub resolver: unknown host {host}")
        return list(mapping[host])

    return lookup


class FakeGitHub(FakeSite):
    """GitHub's REST API for /repos/{owner}/{name}: ETags (304 costs no rate),
    X-RateLimit headers (403 once spent), renamed repositories (301)."""

    def __init__(self, repos, *, limit=60, renamed=None):
        super().__init__(host="127.0.0.1")
        self.repos = {k.lower(): v for k, v in repos.items()}
        self.renamed = {k.lower(): v.lower() for k, v in (renamed or {}).items()}
        self.remaining = limit
        self.reset_at = 2_000_000_000
        self.authorizations = set()

    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def etag(self, key):
        return f'"{key}-{self.repos[key]["stargazers_count"]}"'

    def limits(self):
        return {"X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": str(self.reset_at)}

    async def handle(self, request):
        self.hits[request.path] += 1
        self.authorizations.add(request.headers.get("Authorization", ""))
        parts = request.path.strip("/").split("/")
        if parts[0] == "repositories":
            key = list(self.repos)[int(parts[1])]
        elif parts[0] == "repos" and len(parts) == 3:
            key = f"{parts[1]}/{parts[2]}".lower()
        else:
            return web.json_response({"message": "Not Found"}, status=404)
        if key in self.renamed:
            new = self.renamed[key]
            return web.Response(
                status=301,
                headers={"Location": f"{self.base_url()}/repositories/{list(self.repos).index(new)}", **self.limits()},
            )
        if key in self.repos and request.headers.get("If-None-Match") == self.etag(key):
            return web.Response(status=304, headers={"ETag": self.etag(key), **self.limits()})
        if self.remaining <= 0:
            return web.json_response({"message": "API rate limit exceeded"}, status=403, headers=self.limits())
        self.remaining -= 1
        if key not in self.repos:
            return web.json_response({"message": "Not Found"}, status=404, headers=self.limits())
        data = {"full_name": key, **self.repos[key]}
        return web.json_response(data, headers={"ETag": self.etag(key), **self.limits()})


def repo_data(stars, *, pushed="2026-10-01T00:00:00Z", created="2017-01-01T00:00:00Z", archived=False, **extra):
    return {
        "stargazers_count": stars,
        "forks_count": stars // 10,
        "pushed_at": pushed,
        "created_at": created,
        "archived": archived,
        "license": {"spdx_id": "Apache-2.0"},
        "language": "Go",
        "topics": ["service-mesh"],
        **extra,
    }
