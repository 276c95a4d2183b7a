// A real `starling serve` for the Node client suites: a fresh SQLite
// database in a temporary directory, a free loopback port, and the users
// created through the admin CLI. `STARLING_BIN` picks the binary.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
export const BIN = process.env.STARLING_BIN || join(REPO_ROOT, 'target', 'debug', 'starling');
const STARTUP_TIMEOUT_MS = 30_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * Starts the server (temporary directory named from `prefix`) and creates
 * `users` ({name, email, password}). Returns {base, port, server, log, stop}:
 * `server` is the child process with an `exited` promise, `log()` its output
 * so far, `stop()` kills it and removes the directory (kept with
 * KEEP_WORKDIR).
 */
export async function startStarling(prefix, users) {
  assert.ok(existsSync(BIN), `starling binary not found at ${BIN}; build it or set STARLING_BIN`);
  const workdir = mkdtempSync(join(tmpdir(), prefix));
  const logFile = join(workdir, 'serve.log');
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STARLING_')));
  Object.assign(env, {
    STARLING_BIND: `127.0.0.1:${port}`,
    STARLING_DOMAIN: `localhost:${port}`,
    STARLING_DATABASE_URL: `sqlite://${workdir}/starling.db`,
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const fd = openSync(logFile, 'w');
  const server = spawn(BIN, ['serve'], { cwd: workdir, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  server.exited = new Promise((res) => server.on('exit', (code, signal) => res({ code, signal })));
  const ready = `serving http://localhost:${port} on http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!log().includes(ready)) {
    if (server.exitCode !== null) assert.fail(`starling serve exited with ${server.exitCode}:\n${log()}`);
    if (Date.now() > deadline) assert.fail(`starling serve not ready after ${STARTUP_TIMEOUT_MS} ms:\n${log()}`);
    await sleep(50);
  }
  for (const u of users) {
    execFileSync(BIN, ['admin', 'create-user', u.name, '--email', u.email, '--password', u.password], {
      cwd: workdir, env, stdio: 'pipe', timeout: 60_000,
    });
  }
  async function stop() {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await server.exited;
    }
    if (process.env.KEEP_WORKDIR) console.log(`# kept ${workdir}`);
    else rmSync(workdir, { recursive: true, force: true });
  }
  return { base: `http://localhost:${port}`, port, server, log, stop };
}
