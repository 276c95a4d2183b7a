// Interoperability: Starling against Fedify 2.3.6, a strict ActivityPub peer.
//
// A real `starling serve` (user `sam`) and a real Fedify federation (actor
// `alice`) on two loopback ports talk over HTTP. Fedify verifies every
// signature Starling makes (its inbox listeners are only called for verified
// activities) and parses every document Starling serves through JSON-LD;
// Starling verifies Fedify's RFC 9421 signatures. Assertions are on what each
// side's users would see: Fedify's received activities, and Starling's client
// API (counts, notifications, threads, timelines).
//
// Run with `node --test fedify.test.mjs`; the binary is $STARLING_BIN, or
// target/debug/starling at the repository root.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signRequest } from '@fedify/fedify';
import { Hashtag, Mention, Note, Person, PUBLIC_COLLECTION } from '@fedify/vocab';
import { eventually, freePort, startStarling } from './starling.mjs';
import { startPeer } from './peer.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.STARLING_BIN || join(resolve(HERE, '..', '..'), 'target', 'debug', 'starling');
const SAM = { name: 'sam', email: 'sam@example.test', password: 'sam-correct-horse-battery' };

describe('Starling and Fedify federate', { concurrency: false }, () => {
  let starling;
  let peer;
  const st = {}; // state shared by the steps, in order
  const samUri = () => `${starling.base}/users/sam`;
  const aliceAcct = () => `alice@localhost:${new URL(peer.origin).port}`;

  before(async () => {
    starling = await startStarling(BIN, SAM);
    peer = await startPeer(await freePort(), starling.base);
  });

  after(async () => {
    await peer?.close();
    await starling?.stop();
  });

  /** Fails with Starling's log and Fedify's refusals attached. */
  const context = () =>
    `\n--- fedify unverified: ${JSON.stringify(peer.unverified.map((u) => u.reason))}` +
    `\n--- fedify outgoing: ${JSON.stringify(peer.outgoing)}` +
    `\n--- starling log (tail):\n${starling.log().split('\n').slice(-40).join('\n')}`;

  const receivedBy = (type, pred = () => true) => peer.received.find((r) => r.type === type && pred(r));

  test('Fedify resolves the Starling user through WebFinger and parses the actor', async () => {
    const resource = `acct:sam@localhost:${starling.port}`;
    const wf = await fetch(`${starling.base}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`);
    assert.equal(wf.status, 200);
    const self = (await wf.json()).links.find((l) => l.rel === 'self' && /activity\+json|ld\+json/.test(l.type));
    assert.equal(self?.href, samUri());
    const actor = await peer.ctx.lookupObject(self.href);
    assert.ok(actor instanceof Person, `lookupObject gave ${actor?.constructor?.name}${context()}`);
    assert.equal(actor.id.href, samUri());
    assert.equal(actor.preferredUsername, 'sam');
    assert.equal(actor.inboxId?.href, `${samUri()}/inbox`);
    assert.equal(actor.followersId?.href, `${samUri()}/followers`);
    assert.equal(actor.endpoints?.sharedInbox?.href, `${starling.base}/inbox`);
    const key = await actor.getPublicKey();
    assert.equal(key?.id?.href, `${samUri()}#main-key`);
    assert.equal(key?.ownerId?.href, samUri());
    assert.equal(key?.publicKey?.algorithm?.name, 'RSASSA-PKCS1-v1_5');
    st.sam = actor;
  });

  test('alice follows sam: Starling accepts, Fedify verifies the Accept', async () => {
    assert.ok(st.sam, 'needs the actor');
    const followId = new URL(`${peer.alice.href}#follows/${crypto.randomUUID()}`);
    await peer.send(st.sam, new peer.Follow({ id: followId, actor: peer.alice, object: st.sam.id }));
    const got = await eventually(() => receivedBy('Accept'), `an Accept at Fedify${context()}`);
    const accept = got.activity;
    assert.equal(accept.actorId?.href, samUri());
    assert.equal(accept.objectId?.href, followId.href);
    // The Follow comes back embedded, as Mastodon sends it. (Fedify's
    // `accept.getObject()` refetches an embedded object whose id is on another
    // origin than the Accept, so Fedify apps match Accepts by `objectId`.)
    assert.equal(got.json.object?.type, 'Follow', JSON.stringify(got.json));
    assert.equal(got.json.object?.actor, peer.alice.href);
    assert.equal(got.json.object?.object, samUri());
    assert.deepEqual(peer.unverified, []);

    // Fedify knocked with RFC 9421 first, and Starling took it at once.
    const knock = peer.outgoing.find((o) => o.url.startsWith(`${starling.base}/users/sam/inbox`) || o.url === `${starling.base}/inbox`);
    assert.ok(knock, `no request to Starling's inbox recorded${context()}`);
    assert.ok(knock.signatureInput, `first knock was not RFC 9421: ${JSON.stringify(knock)}`);
    assert.equal(knock.status, 202, JSON.stringify(knock));

    // Starling signed the Accept draft-cavage as Mastodon does.
    const post = peer.inboxPosts.find((p) => /keyId="[^"]*\/users\/sam#main-key"/.test(p.headers.signature ?? ''));
    assert.ok(post, `no cavage-signed POST from Starling: ${JSON.stringify(peer.inboxPosts)}`);
    assert.match(post.headers.signature, /headers="\(request-target\) host date digest content-type"/);
    assert.match(post.headers.signature, /algorithm="rsa-sha256"/);

    // What sam sees: a follower and a follow notification from alice.
    const me = await starling.api('GET', '/api/v1/accounts/verify_credentials');
    assert.equal(me.body.followers_count, 1, JSON.stringify(me.body));
    const notes = await starling.api('GET', '/api/v1/notifications');
    const follow = notes.body.find((n) => n.type === 'follow');
    assert.equal(follow?.account?.acct, aliceAcct(), JSON.stringify(notes.body));
    st.aliceId = follow.account.id;
  });

  test('sam posts through the client API: Fedify gets a verified Create(Note)', async () => {
    assert.ok(st.aliceId, 'needs the follow');
    const text = `Hello Fedify from #starling, @${aliceAcct()}!`;
    const posted = await starling.api('POST', '/api/v1/statuses', { status: text, visibility: 'public' });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const status = posted.body;
    st.status = status;
    const got = await eventually(
      () => receivedBy('Create', (r) => r.activity.objectId?.href === status.uri),
      `the Create of ${status.uri} at Fedify${context()}`,
    );
    const create = got.activity;
    assert.equal(create.actorId?.href, samUri());
    const note = await create.getObject();
    assert.ok(note instanceof Note, `object is ${note?.constructor?.name}`);
    assert.equal(note.id.href, status.uri);
    assert.equal(note.attributionId?.href, samUri());
    assert.match(note.content.toString(), /Hello Fedify from/);
    assert.ok(note.published, 'no published');
    assert.deepEqual(create.toIds.map(String), [PUBLIC_COLLECTION.href]);
    assert.deepEqual(note.toIds.map(String), [PUBLIC_COLLECTION.href]);
    assert.deepEqual(note.ccIds.map(String).sort(), [`${samUri()}/followers`, peer.alice.href].sort());
    const tags = [];
    for await (const t of note.getTags()) tags.push(t);
    const mention = tags.find((t) => t instanceof Mention);
    assert.equal(mention?.href?.href, peer.alice.href);
    const hashtag = tags.find((t) => t instanceof Hashtag);
    assert.equal(hashtag?.name?.toString().toLowerCase(), '#starling');
    assert.deepEqual(peer.unverified, []);
  });

  test('alice replies, likes and boosts: sam sees counts, notifications and the thread', async () => {
    assert.ok(st.status, 'needs the post');
    const target = new URL(st.status.uri);
    const reply = peer.note({
      content: `<p><span class="h-card"><a href="${samUri()}">@sam</a></span> Hello back from Fedify</p>`,
      replyTarget: target,
      to: PUBLIC_COLLECTION,
      ccs: [st.sam.id],
      tags: [new Mention({ href: st.sam.id, name: `@sam@localhost:${starling.port}` })],
    });
    await peer.send(st.sam, new peer.Create({
      id: new URL(`${reply.id.href}#create`), actor: peer.alice, object: reply,
      to: PUBLIC_COLLECTION, ccs: [st.sam.id],
    }));
    await peer.send(st.sam, new peer.Like({
      id: new URL(`${peer.alice.href}#likes/${crypto.randomUUID()}`), actor: peer.alice, object: target,
    }));
    await peer.send(st.sam, new peer.Announce({
      id: new URL(`${peer.alice.href}#announces/${crypto.randomUUID()}`), actor: peer.alice, object: target,
      to: PUBLIC_COLLECTION, ccs: [st.sam.id],
    }));

    const counted = await eventually(async () => {
      const s = (await starling.api('GET', `/api/v1/statuses/${st.status.id}`)).body;
      return s.replies_count === 1 && s.favourites_count === 1 && s.reblogs_count === 1 && s;
    }, `replies, favourites and reblogs counted${context()}`);
    assert.equal(counted.id, st.status.id);

    const notes = (await starling.api('GET', '/api/v1/notifications')).body;
    const byType = (type) => notes.find((n) => n.type === type);
    const summary = JSON.stringify(notes.map((n) => [n.type, n.account?.acct, n.status?.id]));
    for (const type of ['mention', 'favourite', 'reblog']) {
      assert.equal(byType(type)?.account?.acct, aliceAcct(), `${type}: ${summary}`);
    }
    assert.equal(byType('favourite').status.id, st.status.id);
    assert.equal(byType('mention').status.in_reply_to_id, st.status.id);
    assert.match(byType('mention').status.content, /Hello back from Fedify/);

    const thread = (await starling.api('GET', `/api/v1/statuses/${st.status.id}/context`)).body;
    assert.equal(thread.descendants.length, 1, JSON.stringify(thread));
    assert.equal(thread.descendants[0].uri, reply.id.href);
    assert.equal(thread.descendants[0].account.acct, aliceAcct());
  });

  test('sam follows alice: Fedify verifies the Follow and accepts, her posts reach sam', async () => {
    assert.ok(st.aliceId, 'needs alice known');
    const rel = await starling.api('POST', `/api/v1/accounts/${st.aliceId}/follow`);
    assert.equal(rel.status, 200, JSON.stringify(rel.body));
    await eventually(() => receivedBy('Follow', (r) => r.activity.actorId?.href === samUri()),
      `sam's Follow at Fedify${context()}`);
    await eventually(async () => {
      const r = (await starling.api('GET', `/api/v1/accounts/relationships?id[]=${st.aliceId}`)).body;
      return r[0]?.following === true && r[0]?.requested === false;
    }, `the follow accepted in Starling${context()}`);

    const post = peer.note({
      content: '<p>A post for my followers on Starling</p>',
      to: PUBLIC_COLLECTION,
      ccs: [new URL(`${peer.alice.href}/followers`)],
    });
    await peer.send(st.sam, new peer.Create({
      id: new URL(`${post.id.href}#create`), actor: peer.alice, object: post,
      to: PUBLIC_COLLECTION, ccs: [new URL(`${peer.alice.href}/followers`)],
    }));
    const home = await eventually(async () => {
      const tl = (await starling.api('GET', '/api/v1/timelines/home')).body;
      return tl.find((s) => s.uri === post.id.href);
    }, `alice's post in sam's home timeline${context()}`);
    assert.match(home.content, /A post for my followers on Starling/);
    assert.equal(home.account.acct, aliceAcct());
    assert.equal(home.visibility, 'public');
  });

  test('unsigned or tampered requests to Starling get 401 and leave no trace', async () => {
    const posted = await starling.api('POST', '/api/v1/statuses', { status: 'not to be liked by forgers', visibility: 'public' });
    assert.equal(posted.status, 200);
    const target = posted.body;
    const inbox = `${samUri()}/inbox`;
    const [{ keyId, privateKey }] = await peer.ctx.getActorKeyPairs('alice');
    const like = (n) => JSON.stringify({
      '@context': 'https://www.w3.org/ns/activitystreams',
      id: `${peer.alice.href}#likes/forged-${n}`,
      type: 'Like',
      actor: peer.alice.href,
      object: target.uri,
    });
    const post = (headers, body) => fetch(inbox, { method: 'POST', headers, body });
    const ct = { 'content-type': 'application/activity+json' };

    assert.equal((await post(ct, like(0))).status, 401, 'unsigned');

    for (const spec of ['draft-cavage-http-signatures-12', 'rfc9421']) {
      const body = like(spec);
      const signed = await signRequest(new Request(inbox, { method: 'POST', headers: ct, body }), privateKey, keyId, { spec });
      const tampered = body.replace('"Like"', '"Lik3"');
      assert.equal(tampered.length, body.length);
      const r = await post(signed.headers, tampered);
      assert.equal(r.status, 401, `${spec}, one body byte changed: ${await r.text()}`);
      // A request signed for another server's inbox, replayed at Starling's.
      const elsewhere = `http://other.example/users/sam/inbox`;
      const replay = new Headers((await signRequest(new Request(elsewhere, { method: 'POST', headers: ct, body }),
        privateKey, keyId, { spec })).headers);
      replay.delete('host');
      const r2 = await post(replay, body);
      assert.equal(r2.status, 401, `${spec}, signed for another host: ${await r2.text()}`);
    }
    const s = (await starling.api('GET', `/api/v1/statuses/${target.id}`)).body;
    assert.equal(s.favourites_count, 0, 'a refused request had an effect');

    // The same signer, untampered, gets through: the 401s were the tampering.
    const body = like('genuine');
    const signed = await signRequest(new Request(inbox, { method: 'POST', headers: ct, body }), privateKey, keyId,
      { spec: 'rfc9421' });
    assert.equal((await post(signed.headers, body)).status, 202);
    await eventually(async () => (await starling.api('GET', `/api/v1/statuses/${target.id}`)).body.favourites_count === 1,
      'the genuine Like counted');
  });
});
