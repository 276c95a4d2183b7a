// A real `starling serve` for the interop test: fresh temporary directory and
// SQLite database, a free loopback port, domain `localhost:PORT` (so dev mode,
// which allows loopback peers, is on), one user made with the admin CLI and a
// bearer token from the password grant, as a Mastodon app would get one.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STARTUP_TIMEOUT_MS = 30_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Polls `probe` until it returns something truthy, or fails after `timeoutMs`. */
export async function eventually(probe, what, timeoutMs = 10_000) {
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

/**
 * Starts `bin serve` and creates `user`. Returns `{ base, port, log(), api(), stop() }`;
 * `api(method, path, body)` calls the client API with the user's token and
 * returns `{ status, body }`.
 */
export async function startStarling(bin, user) {
  assert.ok(existsSync(bin), `starling binary not found at ${bin}; build it or set STARLING_BIN`);
  const workdir = mkdtempSync(join(tmpdir(), 'starling-fedify-'));
  const logFile = join(workdir, 'serve.log');
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STARLING_')));
  Object.assign(env, {
    STARLING_BIND: `127.0.0.1:${port}`,
    STARLING_DOMAIN: `localhost:${port}`,
    STARLING_DATABASE_URL: `sqlite://${workdir}/starling.db`,
    RUST_LOG: process.env.RUST_LOG || 'info',
  });
  const fd = openSync(logFile, 'w');
  const child = spawn(bin, ['serve'], { cwd: workdir, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const ready = `serving ${base} on http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!log().includes(ready)) {
    if (child.exitCode !== null) assert.fail(`starling serve exited with ${child.exitCode}:\n${log()}`);
    if (Date.now() > deadline) assert.fail(`starling serve not ready after ${STARTUP_TIMEOUT_MS} ms:\n${log()}`);
    await sleep(50);
  }
  execFileSync(bin, ['admin', 'create-user', user.name, '--email', user.email, '--password', user.password], {
    cwd: workdir, env, stdio: 'pipe', timeout: 60_000,
  });

  const json = async (resp) => {
    const text = await resp.text();
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return text;
    }
  };
  const appResp = await fetch(`${base}/api/v1/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'fedify interop', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write follow' }),
  });
  const app = await json(appResp);
  assert.equal(appResp.status, 200, JSON.stringify(app));
  const tokenResp = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password', client_id: app.client_id, client_secret: app.client_secret,
      username: user.email, password: user.password, scope: 'read write follow',
    }),
  });
  const token = await json(tokenResp);
  assert.equal(tokenResp.status, 200, JSON.stringify(token));

  async function api(method, path, body) {
    const resp = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token.access_token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: resp.status, body: await json(resp) };
  }

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (process.env.KEEP_WORKDIR) console.log(`# kept ${workdir}`);
    else rmSync(workdir, { recursive: true, force: true });
  }

  return { base, port, log, api, stop };
}
