"""Client compatibility: Mastodon.py against a real `starling serve`.

Starts a fresh server (own temporary directory, SQLite database, free loopback
port), creates two users with the admin CLI, and then drives the server only
through Mastodon.py the way an application would: app registration, the
password grant, the authorization-code grant (through the real HTML consent
form), posting, replying, following, favouriting, reblogging, the home
timeline, notifications and thread context.

The binary is $STARLING_BIN, or target/debug/starling at the repository root.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from mastodon import Mastodon, StreamListener
from mastodon.errors import MastodonError

REPO_ROOT = Path(__file__).resolve().parents[2]
OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow", "push"]
STARTUP_TIMEOUT = 30.0
FANOUT_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0
STREAM_TIMEOUT = 10.0

ALICE = {"name": "alice", "email": "alice@example.test", "password": "alice-correct-horse-battery"}
BOB = {"name": "bob", "email": "bob@example.test", "password": "bob-correct-horse-battery"}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def starling_bin() -> Path:
    path = Path(os.environ.get("STARLING_BIN", REPO_ROOT / "target" / "debug" / "starling"))
    if not path.is_file():
        pytest.fail(f"starling binary not found at {path}; build it or set STARLING_BIN")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(probe, what: str, timeout: float = FANOUT_TIMEOUT, interval: float = 0.05):
    """Call `probe()` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


@dataclass
class Server:
    base_url: str
    port: int
    workdir: Path
    env: dict
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def log(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(starling_bin()), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


class FormParser(HTMLParser):
    """Collects every <form> with its inputs and submit buttons, and <code id=code>."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.code: str | None = None
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(a)
        elif tag == "code" and a.get("id") == "code":
            self._in_code = True
            self.code = ""

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.code += data


def authorize_in_browser(auth_url: str, login: str, password: str) -> requests.Response:
    """Do what a person does with the consent page: fill it in and press Authorize.

    Returns the (non-followed) response to the form POST."""
    http = requests.Session()
    page = http.get(auth_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, f"GET {auth_url} -> {page.status_code}: {page.text[:500]}"
    assert "text/html" in page.headers.get("content-type", ""), page.headers
    parser = FormParser()
    parser.feed(page.text)
    forms = [f for f in parser.forms if f["method"] == "post"]
    assert len(forms) == 1, f"expected one POST form on the consent page, got {parser.forms}"
    form = forms[0]
    fields = {i["name"]: i.get("value", "") for i in form["inputs"]
              if i.get("type", "text") == "hidden" and i.get("name")}
    visible = {i.get("name") for i in form["inputs"] if i.get("type", "text") != "hidden"}
    assert {"login", "password"} <= visible, f"consent form lacks login/password inputs: {form['inputs']}"
    approve = [b for b in form["buttons"] if b.get("value") == "approve"]
    assert approve, f"consent form has no approve button: {form['buttons']}"
    fields.update({"login": login, "password": password, approve[0].get("name", "decision"): "approve"})
    action = urllib.parse.urljoin(page.url, form["action"] or page.url)
    return http.post(action, data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)


def code_from_oob_page(resp: requests.Response) -> str:
    assert resp.status_code == 200, f"OOB approval -> {resp.status_code}: {resp.text[:500]}"
    parser = FormParser()
    parser.feed(resp.text)
    assert parser.code and parser.code.strip(), f"no <code id=code> on the OOB page: {resp.text[:500]}"
    return parser.code.strip()


def new_client(server: Server, app, mastodon_version: str | None = None) -> Mastodon:
    """A client configured as an ordinary application would be.

    ratelimit_method="throw" instead of the default "wait" so that a 429 fails the
    test at once rather than sleeping until the window resets."""
    client_id, client_secret = app
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url,
                    request_timeout=HTTP_TIMEOUT, ratelimit_method="throw",
                    mastodon_version=mastodon_version)


# --------------------------------------------------------------------------
# fixtures: one server for the module, one flow of actions shared by the tests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    tmp = tempfile.TemporaryDirectory(prefix="starling-mastodonpy-")
    workdir = Path(tmp.name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update({
        "STARLING_BIND": f"127.0.0.1:{port}",
        "STARLING_DOMAIN": f"localhost:{port}",
        "STARLING_DATABASE_URL": f"sqlite://{workdir}/starling.db",
    })
    srv = Server(base_url=f"http://localhost:{port}", port=port, workdir=workdir, env=env,
                 log_path=workdir / "serve.log")
    log = open(srv.log_path, "wb")
    srv.proc = subprocess.Popen([str(starling_bin()), "serve"], cwd=workdir, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = f"serving http://localhost:{port} on http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while ready not in srv.log():
            if srv.proc.poll() is not None:
                pytest.fail(f"starling serve exited with {srv.proc.returncode} before it was ready:\n{srv.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"starling serve not ready after {STARTUP_TIMEOUT}s:\n{srv.log()}")
            time.sleep(0.05)
        # The log line is printed once the listener is bound; confirm HTTP answers.
        r = requests.get(f"{srv.base_url}/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text
        for user in (ALICE, BOB):
            res = srv.cli("admin", "create-user", user["name"], "--email", user["email"],
                          "--password", user["password"])
            assert res.returncode == 0, f"create-user {user['name']} failed:\n{res.stdout}\n{res.stderr}"
        yield srv
    finally:
        if srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGTERM)
            try:
                srv.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()
        log.close()
        tmp.cleanup()


@pytest.fixture(scope="module")
def app(server):
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py compat test", scopes=SCOPES, redirect_uris=[OOB, "http://localhost/callback"],
        website="https://example.test/", api_base_url=server.base_url, request_timeout=HTTP_TIMEOUT)
    return client_id, client_secret


@pytest.fixture(scope="module")
def alice(server, app):
    """Alice logs in with the password grant, using her email as the username."""
    m = new_client(server, app)
    token = m.log_in(username=ALICE["email"], password=ALICE["password"], scopes=SCOPES, allow_http=True)
    assert isinstance(token, str) and token
    return m


@pytest.fixture(scope="module")
def bob(server, app):
    """Bob logs in with the authorization-code grant through the consent page (OOB redirect)."""
    m = new_client(server, app)
    url = m.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    assert url.startswith(f"{server.base_url}/oauth/authorize?"), url
    code = code_from_oob_page(authorize_in_browser(url, BOB["name"], BOB["password"]))
    token = m.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    assert isinstance(token, str) and token
    return m


@pytest.fixture(scope="module")
def me(alice, bob):
    return {"alice": alice.account_verify_credentials(), "bob": bob.account_verify_credentials()}


@pytest.fixture(scope="module")
def follow(alice, bob, me):
    return bob.account_follow(me["alice"].id)


@pytest.fixture(scope="module")
def post(alice, follow):
    return alice.status_post("Hello from Mastodon.py on #starling", visibility="public")


@pytest.fixture(scope="module")
def reply(bob, post):
    return bob.status_post("@alice glad to see you here", in_reply_to_id=post)


@pytest.fixture(scope="module")
def favourite(bob, post):
    return bob.status_favourite(post)


@pytest.fixture(scope="module")
def reblog(bob, post):
    return bob.status_reblog(post)


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


def test_create_app_returns_credentials(app):
    client_id, client_secret = app
    assert isinstance(client_id, str) and len(client_id) >= 16
    assert isinstance(client_secret, str) and len(client_secret) >= 16
    assert client_id != client_secret


def test_password_grant_with_email(alice, me):
    acct = me["alice"]
    assert acct.username == "alice"
    assert acct.acct == "alice"
    assert acct.id


def test_password_grant_rejects_wrong_password(server, app):
    m = new_client(server, app)
    with pytest.raises(MastodonError):
        m.log_in(username=ALICE["email"], password="not-the-password", scopes=SCOPES, allow_http=True)


def test_authorization_code_grant(bob, me):
    acct = me["bob"]
    assert acct.username == "bob"
    assert acct.id and acct.id != me["alice"].id


def test_authorization_code_grant_with_redirect_uri(server, app):
    """Same grant, with a real redirect URI: the code comes back in the Location header."""
    m = new_client(server, app)
    redirect = "http://localhost/callback"
    url = m.auth_request_url(redirect_uris=redirect, scopes=SCOPES, state="xyz123", allow_http=True)
    resp = authorize_in_browser(url, ALICE["email"], ALICE["password"])
    assert resp.status_code in (302, 303), f"{resp.status_code}: {resp.text[:300]}"
    location = urllib.parse.urlsplit(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect, resp.headers["location"]
    query = urllib.parse.parse_qs(location.query)
    assert query.get("state") == ["xyz123"], resp.headers["location"]
    m.log_in(code=query["code"][0], redirect_uri=redirect, scopes=SCOPES, allow_http=True)
    assert m.account_verify_credentials().username == "alice"


def test_follow(bob, me, follow):
    assert follow.id == me["alice"].id
    assert follow.following is True
    rel = bob.account_relationships(me["alice"].id)
    assert len(rel) == 1 and rel[0].following is True
    followers = bob.account_followers(me["alice"].id)
    assert [a.id for a in followers] == [me["bob"].id]
    assert bob.account(me["alice"].id).followers_count == 1


def test_status_post(me, post):
    assert "Hello from Mastodon.py on" in post.content
    assert "starling" in post.content
    assert post.account.id == me["alice"].id
    assert post.visibility == "public"
    assert [t.name.lower() for t in post.tags] == ["starling"]


def test_home_timeline_shows_followed_post(bob, post):
    def seen():
        return [s for s in bob.timeline_home(limit=40) if s.id == post.id]

    found = eventually(seen, "alice's post in bob's home timeline")
    assert "Hello from Mastodon.py on" in found[0].content


def test_reply_and_context(alice, me, post, reply):
    assert reply.in_reply_to_id == post.id
    assert reply.in_reply_to_account_id == me["alice"].id
    assert [m.id for m in reply.mentions] == [me["alice"].id]
    assert "glad to see you here" in reply.content

    down = alice.status_context(post)
    assert [s.id for s in down.ancestors] == []
    assert [s.id for s in down.descendants] == [reply.id]
    up = alice.status_context(reply)
    assert [s.id for s in up.ancestors] == [post.id]
    assert [s.id for s in up.descendants] == []
    assert alice.status(post).replies_count == 1


def test_favourite(alice, post, favourite):
    assert favourite.id == post.id
    assert favourite.favourited is True
    assert favourite.favourites_count == 1
    assert alice.status(post).favourites_count == 1
    assert [a.username for a in alice.status_favourited_by(post)] == ["bob"]


def test_reblog(alice, bob, me, post, reblog):
    assert reblog.reblog is not None, reblog
    assert reblog.reblog.id == post.id
    assert reblog.account.id == me["bob"].id
    assert reblog.reblog.reblogged is True
    assert alice.status(post).reblogs_count == 1
    assert [a.username for a in alice.status_reblogged_by(post)] == ["bob"]


def test_notifications(alice, me, follow, post, reply, favourite, reblog):
    wanted = {"follow", "favourite", "reblog", "mention"}

    def all_there():
        notes = alice.notifications(limit=40)
        return notes if wanted <= {n.type for n in notes} else None

    notes = eventually(all_there, f"notifications {sorted(wanted)} for alice")
    by_type = {}
    for n in notes:
        by_type.setdefault(n.type, []).append(n)
    for kind in wanted:
        assert len(by_type[kind]) == 1, f"{kind}: {by_type[kind]}"
        assert by_type[kind][0].account.id == me["bob"].id
    assert by_type["favourite"][0].status.id == post.id
    assert by_type["reblog"][0].status.id == post.id
    assert by_type["mention"][0].status.id == reply.id
    assert by_type["follow"][0].status is None
    # Bob did nothing to be notified about.
    assert [] == [n for n in notes if n.account.id != me["bob"].id]


def test_default_login_detects_version(server, app):
    """log_in() ends by learning the server version.

    Mastodon.py 2.3.3 fetches GET /api/v1/instance/ and /api/v2/instance/ (note the
    trailing slash) at the end of log_in(); when that fails it recurses until
    RecursionError, so an application cannot log in at all without them."""
    m = new_client(server, app)
    token = m.log_in(username=BOB["email"], password=BOB["password"], scopes=SCOPES, allow_http=True)
    assert token
    version = m.retrieve_mastodon_version()
    assert version != "1.0.0", "Mastodon.py fell back to 1.0.0: the instance endpoint was not usable"
    assert m.account_verify_credentials().username == "bob"


def test_pagination_fetch_next_and_previous(alice, me):
    """Mastodon.py pages with the Link header (max_id / min_id)."""
    texts = [f"page test {i}" for i in range(5)]
    ids = [alice.status_post(t).id for t in texts]
    first = alice.account_statuses(me["alice"].id, limit=2)
    assert [s.id for s in first] == ids[::-1][:2]
    second = alice.fetch_next(first)
    assert second is not None, "no rel=next Link header on the first page"
    assert [s.id for s in second] == ids[::-1][2:4]
    back = alice.fetch_previous(second)
    assert back is not None, "no rel=prev Link header on the second page"
    assert [s.id for s in back] == ids[::-1][:2]


def test_idempotency_key(alice):
    """A retried post with the same Idempotency-Key must not create a duplicate."""
    one = alice.status_post("posted once despite a retry", idempotency_key="mastodonpy-retry-1")
    two = alice.status_post("posted once despite a retry", idempotency_key="mastodonpy-retry-1")
    assert one.id == two.id


def test_rate_limit_headers_understood(alice):
    """Mastodon.py's "wait"/"pace" modes run on X-RateLimit-Limit/Remaining/Reset."""
    alice.ratelimit_reset = None
    alice.account_verify_credentials()
    assert alice.ratelimit_limit == 300
    assert 0 < alice.ratelimit_remaining < 300
    # Mastodon.py keeps the reset time only when it parsed it and it lies ahead.
    assert alice.ratelimit_reset is not None
    assert time.time() < alice.ratelimit_reset <= time.time() + 5 * 60 + 5


def test_instance_info(server, alice):
    """Mastodon.py asks for /api/v1/instance/ and /api/v2/instance/ (with a trailing slash)."""
    inst = alice.instance_v1()
    assert inst.uri == f"localhost:{server.port}"
    assert inst.version
    assert inst.stats.user_count == 2
    assert inst.configuration.statuses.max_characters >= 500
    inst2 = alice.instance_v2()
    assert inst2.domain == f"localhost:{server.port}"
    assert inst2.configuration.statuses.max_characters == inst.configuration.statuses.max_characters
    assert int(inst2.api_versions["mastodon"]) >= 1
    # What Mastodon.py derived from them.
    major, minor, patch = (int(x) for x in alice.retrieve_mastodon_version().split("+")[0].split("-")[0].split(".")[:3])
    assert (major, minor) >= (4, 0)
    assert alice.mastodon_api_version >= 1


class RecordingListener(StreamListener):
    """Keeps every `update` and `notification` a stream delivers, and any abort."""

    def __init__(self):
        super().__init__()
        self.cond = threading.Condition()
        self.updates = []
        self.notifications = []
        self.errors = []

    def _add(self, bucket, item):
        with self.cond:
            bucket.append(item)
            self.cond.notify_all()

    def on_update(self, status):
        self._add(self.updates, status)

    def on_notification(self, notification):
        self._add(self.notifications, notification)

    def on_abort(self, err):
        self._add(self.errors, err)

    def on_websocket_error(self, error, for_stream=None):
        self._add(self.errors, (error, for_stream))

    def wait_for(self, pick, what: str, timeout: float = STREAM_TIMEOUT):
        with self.cond:
            found = self.cond.wait_for(lambda: pick() or self.errors, timeout)
            assert not self.errors, f"stream aborted while waiting for {what}: {self.errors!r}"
            assert found, (f"no {what} within {timeout}s; got updates "
                           f"{[s.id for s in self.updates]}, notifications "
                           f"{[(n.type, n.status and n.status.id) for n in self.notifications]}")
            return found


def wait_receiving(handle, what: str):
    eventually(handle.is_receiving, f"{what} to be connected", timeout=STREAM_TIMEOUT)
    # The server subscribes while answering the request; give it a moment.
    time.sleep(0.3)


def check_user_stream(alice, bob, me, listener, tag: str):
    """Bob follows Alice: her post is an `update` on his user stream; her mention of him
    and her favourite of his post are `notification`s."""
    post = alice.status_post(f"streamed to followers over {tag}", visibility="public")
    got = listener.wait_for(lambda: [s for s in listener.updates if s.id == post.id], f"update {post.id}")
    assert got[0].account.id == me["alice"].id
    assert f"streamed to followers over {tag}" in got[0].content

    mine = bob.status_post(f"bob's post for a favourite over {tag}")
    alice.status_favourite(mine)
    got = listener.wait_for(lambda: [n for n in listener.notifications
                                     if n.type == "favourite" and n.status and n.status.id == mine.id],
                            f"favourite notification for {mine.id}")
    assert got[0].account.id == me["alice"].id

    mention = alice.status_post(f"@bob a mention over {tag}", visibility="public")
    got = listener.wait_for(lambda: [n for n in listener.notifications
                                     if n.type == "mention" and n.status and n.status.id == mention.id],
                            f"mention notification for {mention.id}")
    assert got[0].account.id == me["alice"].id
    assert [m.id for m in got[0].status.mentions] == [me["bob"].id]
    # Nothing of Bob's own doing notifies him.
    assert [n for n in listener.notifications if n.account.id == me["bob"].id] == []


def test_stream_user_sse(alice, bob, me, follow):
    """stream_user(listener, run_async=True): Server-Sent Events at /api/v1/streaming/user."""
    listener = RecordingListener()
    handle = bob.stream_user(listener, run_async=True, timeout=STREAM_TIMEOUT)
    try:
        wait_receiving(handle, "SSE stream")
        check_user_stream(alice, bob, me, listener, "SSE")
    finally:
        # SSEStreamHandle.close() blocks until the reader thread's pending read returns (the
        # next event, the 15 s heartbeat or the read timeout), so close from a helper thread
        # and give the reader one more event.
        closer = threading.Thread(target=handle.close, daemon=True)
        closer.start()
        alice.status_post("wakes the SSE reader so that close() can finish")
        closer.join(STREAM_TIMEOUT)
    assert not closer.is_alive(), "SSEStreamHandle.close() did not return"
    handle.join(STREAM_TIMEOUT)
    assert not handle.is_alive(), "SSE stream thread still running after close()"


def test_stream_user_websocket(alice, bob, me, follow):
    """stream_open_websocket() + stream_user(websocket_handle=...): WebSocket at
    /api/v1/streaming with a {"type":"subscribe","stream":"user"} message."""
    listener = RecordingListener()
    handle = bob.stream_open_websocket(timeout=STREAM_TIMEOUT)
    try:
        sub = bob.stream_user(listener, websocket_handle=handle)
        wait_receiving(handle, "WebSocket")
        assert sub.is_receiving()
        check_user_stream(alice, bob, me, listener, "WebSocket")
        # Events reach `listener` only when their "stream" field names the subscription (["user"]).
        assert [s for s in handle.subscriptions() if s.stream == "user"], handle.subscriptions()
    finally:
        handle.close()
        handle.join(STREAM_TIMEOUT)
    assert not handle.is_alive(), "WebSocket thread still running after close()"


def test_zz_sigterm_shutdown(server):
    """Last: the server stops cleanly on SIGTERM with exit status 0."""
    assert server.proc.poll() is None, f"server died early:\n{server.log()}"
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"server still running 15s after SIGTERM:\n{server.log()[-2000:]}")
    assert code == 0, f"exit status {code}:\n{server.log()[-2000:]}"
