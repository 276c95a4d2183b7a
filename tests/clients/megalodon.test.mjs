// Client compatibility: megalodon (the Mastodon client library behind Whalebird
// and others) against a real `starling serve`.
//
// Starts a fresh server (own temporary directory, SQLite, free loopback port),
// creates two users with the admin CLI, and drives the flow with megalodon's
// `generator('mastodon', url, token)`: registerApp, the authorization-code grant
// through the real consent form (fetch with redirect: 'manual', then
// fetchAccessToken), the password grant (megalodon has none, so a raw JSON POST
// to /oauth/token as such apps do), follow, postStatus, reply, favouriteStatus,
// reblogStatus, getHomeTimeline, getNotifications and getStatusContext.
//
// Run with `node --test megalodon.test.mjs`. The binary is $STARLING_BIN, or
// target/debug/starling at the repository root.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startStarling } from './starling-server.mjs';
import megalodon, { detector } from 'megalodon';

// megalodon is CommonJS: its `exports.default` is the generator.
const generator = megalodon.default ?? megalodon;

const SCOPES = ['read', 'write', 'follow', 'push'];
const REDIRECT = 'http://localhost/callback';
const FANOUT_TIMEOUT_MS = 5_000;

const ALICE = { name: 'carol', email: 'carol@example.test', password: 'carol-correct-horse-battery' };
const BOB = { name: 'dave', email: 'dave@example.test', password: 'dave-correct-horse-battery' };

// A timer that does not keep the process alive once everything else is done.
const deadlineAfter = (ms, value) => new Promise((r) => setTimeout(() => r(value), ms).unref());

async function eventually(probe, what, timeoutMs = FANOUT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() >= deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await sleep(50);
  }
}

/** The form fields of the consent page: hidden inputs plus the names of visible ones. */
function parseConsentForm(html) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  assert.equal(forms.length, 1, `expected one form on the consent page:\n${html}`);
  const [, formAttrs, body] = forms[0];
  const attr = (s, name) => {
    const m = s.match(new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i'));
    return m ? decodeEntities(m[1]) : undefined;
  };
  assert.equal((attr(formAttrs, 'method') || 'get').toLowerCase(), 'post');
  const hidden = {};
  const visible = [];
  for (const [, a] of body.matchAll(/<input\b([^>]*)>/gi)) {
    const name = attr(a, 'name');
    if (!name) continue;
    if ((attr(a, 'type') || 'text').toLowerCase() === 'hidden') hidden[name] = attr(a, 'value') ?? '';
    else visible.push(name);
  }
  const buttons = [...body.matchAll(/<button\b([^>]*)>/gi)].map(([, a]) => ({ name: attr(a, 'name'), value: attr(a, 'value') }));
  return { action: attr(formAttrs, 'action') || '', hidden, visible, buttons };
}

function decodeEntities(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** What a person does on the consent page: sign in and press Authorize. Returns the raw response. */
async function approveInBrowser(authUrl, login, password) {
  const page = await fetch(authUrl, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, `GET ${authUrl} -> ${page.status}: ${html.slice(0, 500)}`);
  assert.match(page.headers.get('content-type') || '', /text\/html/);
  const form = parseConsentForm(html);
  assert.ok(form.visible.includes('login') && form.visible.includes('password'), `form inputs: ${form.visible}`);
  const approve = form.buttons.find((b) => b.value === 'approve');
  assert.ok(approve, `no approve button: ${JSON.stringify(form.buttons)}`);
  const body = new URLSearchParams({ ...form.hidden, login, password, [approve.name || 'decision']: 'approve' });
  return fetch(new URL(form.action || authUrl, authUrl), { method: 'POST', body, redirect: 'manual' });
}

describe('megalodon against starling serve', { concurrency: false }, () => {
  let node;
  let server;
  let base;
  let port;
  let log;
  let app;
  const st = {}; // state shared by the steps, in order

  before(async () => {
    node = await startStarling('starling-megalodon-', [ALICE, BOB]);
    ({ base, port, server, log } = node);
  });

  after(async () => {
    await node?.stop();
  });

  test('detector() recognises the server as Mastodon-compatible (nodeinfo)', async () => {
    // Apps built on megalodon (e.g. Whalebird) call detector() first to pick the backend.
    const sns = await detector(base);
    assert.equal(sns, 'mastodon');
  });

  test('registerApp returns credentials and an authorize URL', async () => {
    const client = generator('mastodon', base);
    app = await client.registerApp('megalodon compat test', {
      scopes: SCOPES, redirect_uris: REDIRECT, website: 'https://example.test/',
    });
    assert.ok(app.client_id && app.client_id.length >= 16, JSON.stringify(app));
    assert.ok(app.client_secret && app.client_secret.length >= 16);
    assert.equal(app.name, 'megalodon compat test');
    assert.equal(app.redirect_uri, REDIRECT);
    const url = new URL(app.url);
    assert.equal(`${url.origin}${url.pathname}`, `${base}/oauth/authorize`);
    assert.equal(url.searchParams.get('client_id'), app.client_id);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT);
    assert.equal(url.searchParams.get('response_type'), 'code');
  });

  test('authorization-code grant: consent form, redirect with code, fetchAccessToken', async () => {
    assert.ok(app, 'needs registerApp');
    const resp = await approveInBrowser(app.url, BOB.name, BOB.password);
    assert.ok([302, 303].includes(resp.status), `POST /oauth/authorize -> ${resp.status}: ${await resp.text()}`);
    const location = new URL(resp.headers.get('location'));
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    const code = location.searchParams.get('code');
    assert.ok(code, `no code in ${location}`);
    const token = await generator('mastodon', base).fetchAccessToken(app.client_id, app.client_secret, code, REDIRECT);
    assert.ok(token.access_token, JSON.stringify(token));
    assert.equal(token.token_type.toLowerCase(), 'bearer');
    assert.deepEqual(token.scope.split(' ').sort(), [...SCOPES].sort());
    st.bob = generator('mastodon', base, token.access_token);
    const me = await st.bob.verifyAccountCredentials();
    assert.equal(me.status, 200);
    assert.equal(me.data.username, BOB.name);
    st.bobAccount = me.data;
  });

  test('a used authorization code cannot be exchanged again', async () => {
    assert.ok(app, 'needs registerApp');
    const resp = await approveInBrowser(app.url, BOB.email, BOB.password);
    const code = new URL(resp.headers.get('location')).searchParams.get('code');
    const client = generator('mastodon', base);
    await client.fetchAccessToken(app.client_id, app.client_secret, code, REDIRECT);
    await assert.rejects(client.fetchAccessToken(app.client_id, app.client_secret, code, REDIRECT),
      (err) => err.response?.status >= 400 && err.response?.status < 500);
  });

  test('password grant (raw JSON POST /oauth/token) gives a token megalodon can use', async () => {
    assert.ok(app, 'needs registerApp');
    const resp = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'password', client_id: app.client_id, client_secret: app.client_secret,
        username: ALICE.email, password: ALICE.password, scope: SCOPES.join(' '),
      }),
    });
    const body = await resp.json();
    assert.equal(resp.status, 200, JSON.stringify(body));
    assert.ok(body.access_token);
    st.alice = generator('mastodon', base, body.access_token);
    const me = await st.alice.verifyAccountCredentials();
    assert.equal(me.data.username, ALICE.name);
    assert.equal(me.data.acct, ALICE.name);
    st.aliceAccount = me.data;
  });

  test('followAccount', async () => {
    assert.ok(st.alice && st.bob, 'needs both logins');
    const rel = await st.bob.followAccount(st.aliceAccount.id);
    assert.equal(rel.data.id, st.aliceAccount.id);
    assert.equal(rel.data.following, true);
    const rels = await st.bob.getRelationships([st.aliceAccount.id]);
    assert.equal(rels.data.length, 1);
    assert.equal(rels.data[0].following, true);
    const acct = await st.bob.getAccount(st.aliceAccount.id);
    assert.equal(acct.data.followers_count, 1);
    st.followed = true;
  });

  test('postStatus', async () => {
    assert.ok(st.alice, 'needs alice');
    const res = await st.alice.postStatus('Hello from megalodon on #starling', { visibility: 'public' });
    assert.equal(res.status, 200);
    const s = res.data;
    assert.ok(s.id);
    assert.match(s.content, /Hello from megalodon on/);
    assert.match(s.content, /starling/);
    assert.equal(s.account.id, st.aliceAccount.id);
    assert.equal(s.visibility, 'public');
    assert.deepEqual(s.tags.map((t) => t.name.toLowerCase()), ['starling']);
    st.post = s;
  });

  test('getHomeTimeline: the follower sees the post', async () => {
    assert.ok(st.post && st.followed, 'needs follow and post');
    const found = await eventually(async () => {
      const res = await st.bob.getHomeTimeline({ limit: 40 });
      return res.data.find((s) => s.id === st.post.id);
    }, "carol's post in dave's home timeline");
    assert.match(found.content, /Hello from megalodon on/);
    assert.equal(found.account.username, ALICE.name);
  });

  test('reply with in_reply_to_id, and getStatusContext', async () => {
    assert.ok(st.post, 'needs post');
    const res = await st.bob.postStatus(`@${ALICE.name} nice to meet you`, { in_reply_to_id: st.post.id });
    const reply = res.data;
    assert.equal(reply.in_reply_to_id, st.post.id);
    assert.equal(reply.in_reply_to_account_id, st.aliceAccount.id);
    assert.deepEqual(reply.mentions.map((m) => m.id), [st.aliceAccount.id]);
    st.reply = reply;
    const down = await st.alice.getStatusContext(st.post.id);
    assert.deepEqual(down.data.ancestors.map((s) => s.id), []);
    assert.deepEqual(down.data.descendants.map((s) => s.id), [reply.id]);
    const up = await st.alice.getStatusContext(reply.id);
    assert.deepEqual(up.data.ancestors.map((s) => s.id), [st.post.id]);
    const again = await st.alice.getStatus(st.post.id);
    assert.equal(again.data.replies_count, 1);
  });

  test('favouriteStatus', async () => {
    assert.ok(st.post, 'needs post');
    const res = await st.bob.favouriteStatus(st.post.id);
    assert.equal(res.data.id, st.post.id);
    assert.equal(res.data.favourited, true);
    assert.equal(res.data.favourites_count, 1);
    const seen = await st.alice.getStatus(st.post.id);
    assert.equal(seen.data.favourites_count, 1);
    assert.equal(seen.data.favourited, false);
    st.favourited = true;
  });

  test('reblogStatus', async () => {
    assert.ok(st.post, 'needs post');
    const res = await st.bob.reblogStatus(st.post.id);
    assert.ok(res.data.reblog, `reblogStatus returned no reblog: ${JSON.stringify(res.data)}`);
    assert.equal(res.data.reblog.id, st.post.id);
    assert.equal(res.data.account.id, st.bobAccount.id);
    assert.equal(res.data.reblog.reblogged, true);
    const seen = await st.alice.getStatus(st.post.id);
    assert.equal(seen.data.reblogs_count, 1);
    st.reblogged = true;
  });

  test('getNotifications: follow, favourite, reblog, mention', async () => {
    assert.ok(st.followed && st.reply && st.favourited && st.reblogged, 'needs the earlier steps');
    const wanted = ['favourite', 'follow', 'mention', 'reblog'];
    const notes = await eventually(async () => {
      const res = await st.alice.getNotifications({ limit: 40 });
      const types = new Set(res.data.map((n) => n.type));
      return wanted.every((t) => types.has(t)) ? res.data : null;
    }, `notifications ${wanted} for carol`);
    assert.deepEqual(notes.map((n) => n.type).sort(), wanted);
    for (const n of notes) assert.equal(n.account.id, st.bobAccount.id, `${n.type} from ${n.account.acct}`);
    const byType = Object.fromEntries(notes.map((n) => [n.type, n]));
    assert.equal(byType.favourite.status.id, st.post.id);
    assert.equal(byType.reblog.status.id, st.post.id);
    assert.equal(byType.mention.status.id, st.reply.id);
    assert.equal(byType.follow.status, undefined);
  });

  test('getInstance', async () => {
    const res = await generator('mastodon', base).getInstance();
    assert.equal(res.status, 200);
    assert.equal(res.data.uri, `localhost:${port}`);
    assert.ok(res.data.version, 'instance has no version');
    assert.equal(typeof res.data.stats?.user_count, 'number');
  });

  test('SIGTERM stops the server with exit status 0', async () => {
    assert.equal(server.exitCode, null, `server died early:\n${log()}`);
    server.kill('SIGTERM');
    const result = await Promise.race([server.exited, deadlineAfter(15_000, 'timeout')]);
    assert.notEqual(result, 'timeout', `still running 15 s after SIGTERM:\n${log().slice(-2000)}`);
    assert.deepEqual(result, { code: 0, signal: null }, log().slice(-2000));
  });
});
