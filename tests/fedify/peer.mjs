// The Fedify side of the interop test: a real Fedify federation on its own
// loopback port with one actor, `alice` (RSA-2048 keys), an in-memory KV store
// and queue, default double-knocking (RFC 9421 first), served by node:http.
//
// It records what a test needs to see: the activities its inbox listeners got
// (Fedify calls them only after it verified the HTTP signature), the ones it
// refused as unverified, the raw signature headers of every inbox POST, and
// every outgoing request its queue made to the other server, with the status.

import { createServer } from 'node:http';
import { Temporal } from '@js-temporal/polyfill';
import {
  createFederation, generateCryptoKeyPair, InProcessMessageQueue, MemoryKvStore,
} from '@fedify/fedify';
import {
  Accept, Announce, Create, Endpoints, Follow, Like, Note, Person, Undo,
} from '@fedify/vocab';

/**
 * Starts the peer on `port` (127.0.0.1, origin `http://localhost:PORT`).
 * `watchOrigin` is the other server's origin: outgoing requests to it are
 * recorded in `outgoing`.
 */
export async function startPeer(port, watchOrigin) {
  const origin = `http://localhost:${port}`;
  const rsa = await generateCryptoKeyPair('RSASSA-PKCS1-v1_5');
  const received = []; // { type, activity } verified by Fedify
  const unverified = []; // { activity, reason }
  const inboxPosts = []; // { path, headers } of every POST to an inbox
  const outgoing = []; // { url, method, signatureInput, signature, status }
  const notes = new Map(); // note id -> Note, dereferenceable at its id
  const followers = new Set(); // actor ids that follow alice

  // Fedify's queue and document loader use the global fetch: watch the calls
  // to the other server to see which signature scheme got through.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const response = await realFetch(input, init);
    if (request.url.startsWith(watchOrigin) && request.method === 'POST') {
      outgoing.push({
        url: request.url,
        method: request.method,
        signatureInput: request.headers.get('signature-input'),
        signature: request.headers.get('signature'),
        status: response.status,
      });
    }
    return response;
  };

  const federation = createFederation({
    kv: new MemoryKvStore(),
    queue: new InProcessMessageQueue(),
    allowPrivateAddress: true,
    manuallyStartQueue: true,
  });
  // Started by hand so that `close()` can stop its polling loop.
  const queueStop = new AbortController();
  const queueDone = federation.startQueue(undefined, { signal: queueStop.signal });

  federation
    .setActorDispatcher('/users/{identifier}', async (ctx, identifier) => {
      if (identifier !== 'alice') return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: 'Alice on Fedify',
        summary: 'A strict peer.',
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        followers: ctx.getFollowersUri(identifier),
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === 'alice' ? [rsa] : []));

  federation.setFollowersDispatcher('/users/{identifier}/followers', async (_ctx, identifier) => {
    if (identifier !== 'alice') return null;
    return { items: [...followers].map((id) => new URL(id)) };
  });

  federation.setObjectDispatcher(Note, '/users/{identifier}/notes/{id}', async (ctx, values) => {
    return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
  });

  const record = (type) => async (_ctx, activity) => {
    received.push({ type, activity, json: await activity.toJsonLd() });
  };
  federation
    .setInboxListeners('/users/{identifier}/inbox', '/inbox')
    .on(Accept, record('Accept'))
    .on(Create, record('Create'))
    .on(Undo, record('Undo'))
    .on(Follow, async (ctx, follow) => {
      await record('Follow')(ctx, follow);
      if (follow.objectId?.href !== ctx.getActorUri('alice').href || follow.actorId == null) return;
      const follower = await follow.getActor();
      followers.add(follow.actorId.href);
      await ctx.sendActivity({ identifier: 'alice' }, follower, new Accept({
        id: new URL(`${ctx.getActorUri('alice').href}#accepts/${crypto.randomUUID()}`),
        actor: ctx.getActorUri('alice'),
        object: follow,
      }));
    })
    .onUnverifiedActivity(async (_ctx, activity, reason) => {
      unverified.push({ activity: await activity.toJsonLd(), reason });
    });

  const server = createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      if (req.method === 'POST' && /inbox$/.test(req.url)) {
        inboxPosts.push({ path: req.url, headers: Object.fromEntries(headers) });
      }
      const request = new Request(new URL(req.url, origin), {
        method: req.method,
        headers,
        body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
      });
      const response = await federation.fetch(request, { contextData: undefined });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e?.stack ?? e));
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));

  const ctx = federation.createContext(new URL(origin), undefined);
  const alice = ctx.getActorUri('alice');

  /** Sends `activity` from alice to `recipient` (an Actor) through the queue. */
  const send = (recipient, activity) => ctx.sendActivity({ identifier: 'alice' }, recipient, activity);

  /** A public Note by alice, stored so it is dereferenceable at its id. */
  function note(fields) {
    const id = ctx.getObjectUri(Note, { identifier: 'alice', id: crypto.randomUUID() });
    const n = new Note({ id, attribution: alice, published: Temporal.Now.instant(), ...fields });
    notes.set(id.href, n);
    return n;
  }

  return {
    origin, ctx, alice, rsa, received, unverified, inboxPosts, outgoing, followers, send, note,
    Follow, Like, Announce, Create, Undo,
    close: async () => {
      globalThis.fetch = realFetch;
      queueStop.abort();
      await queueDone.catch(() => {});
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r()));
    },
  };
}
