/// <reference lib="dom" />
// The web panel against hostile requests: no session, forged cookies, other sites' pages,
// oversize and malformed input. Each is refused with a clear error and no device changes.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, peersAvailable, stopAll, tempDir, until, waitForPort, type Proc } from './helpers.js';
import { serve } from './rawclient.js';

const CHROMIUM = '/usr/bin/chromium';
const ready = peersAvailable(CHROMIUM, 'indi_simulator_telescope', 'indi_getprop');

/** One raw HTTP exchange: the status line's code and the body. */
function raw(port: number, request: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    socket.write(request);
  });
}

const upgrade = (cookie: string, origin: string) =>
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n${cookie}\r\n`;

let web = 0;
let indi = 0;
let server: Proc;
let browser: Browser;
let context: BrowserContext;
let evil: Server;
let evilPort = 0;
let dir: ReturnType<typeof tempDir>;

function connection(): string {
  const out = spawnSync('indi_getprop', ['-p', String(indi), '-t', '3', 'Telescope Simulator.CONNECTION.*'], { encoding: 'utf8' });
  return out.stdout.trim();
}

describe.skipIf(!ready)('hostile requests to the web panel', () => {
  beforeAll(async () => {
    dir = tempDir('indi-node-web-hostile-');
    web = await freePort();
    const started = await serve(['--web', `127.0.0.1:${web}`, '--web-users', join(dir.path, 'users.db'), '--web-login', 'indi_simulator_telescope']);
    ({ port: indi, proc: server } = started);
    await waitForPort(web);
    await until(() => /password (\w+)/.test(server.stdout()), 10_000, 'the admin password');
    const password = /password (\w+)/.exec(server.stdout())![1];
    await until(() => connection().includes('CONNECT=Off'), 15_000, 'the telescope defined');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${web}/`);
    await page.fill('#login input[name=user]', 'admin');
    await page.fill('#login input[name=password]', password);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#conn.state-Ok');
    // Another site's page (another port of this host: same site for cookies, another origin).
    evilPort = await freePort();
    evil = createServer((_, response) => response.end('<!doctype html><title>evil</title>'));
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    evil?.close();
    await stopAll();
    dir?.remove();
  });

  it('without a session, or with a forged cookie, nothing is served but the page', async () => {
    for (const cookie of ['', 'Cookie: indi_session=0123456789abcdef\r\n']) {
      const ws = await raw(web, upgrade(cookie, `http://127.0.0.1:${web}`));
      expect([ws.status, ws.text]).toEqual([401, expect.stringContaining('{"error":"not signed in"}')]);
      const blob = await raw(web, `GET /blob/0/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${cookie}\r\n`);
      expect(blob.status).toBe(401);
      const session = await raw(web, `GET /session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${cookie}\r\n`);
      expect(session.status).toBe(401);
    }
    expect((await raw(web, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    expect(connection()).toContain('CONNECT=Off');
  });

  it('malformed and oversize HTTP is refused with a status and a reason', async () => {
    const cases: Array<[string | Buffer, number, string]> = [
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'malformed request'],
      [`GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'request head too large'],
      [`POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`, 413, 'request body too large'],
      [`POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, 411, 'Content-Length'],
      [`DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 405, 'method not allowed'],
    ];
    for (const [request, status, reason] of cases) {
      const answer = await raw(web, request);
      expect([answer.status, answer.text]).toEqual([status, expect.stringContaining(reason)]);
    }
  });

  it("another site's page cannot open the WebSocket, sign in or out, even with the cookie", async () => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${evilPort}/`);
    const outcome = await page.evaluate(async (port) => {
      const ws = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        socket.onopen = () => resolve('open');
        socket.onerror = () => resolve('refused');
      });
      const logout = await fetch(`http://127.0.0.1:${port}/logout`, { method: 'POST', credentials: 'include', mode: 'no-cors' }).then(
        () => 'sent',
        () => 'failed',
      );
      return { ws, logout };
    }, web);
    expect(outcome.ws).toBe('refused');
    const cookie = (await context.cookies()).map((c) => `Cookie: ${c.name}=${c.value}\r\n`).join('');
    const ws = await raw(web, upgrade(cookie, `http://127.0.0.1:${evilPort}`));
    expect([ws.status, ws.text]).toEqual([403, expect.stringContaining('cross-site WebSocket refused')]);
    const login = await raw(
      web,
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\nOrigin: http://evil.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    expect([login.status, login.text]).toEqual([403, expect.stringContaining('cross-site request refused')]);
    const logout = await raw(
      web,
      `POST /logout HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\nOrigin: http://127.0.0.1:${web}\r\nContent-Length: 0\r\nConnection: close\r\n${cookie}\r\n`,
    );
    expect([logout.status, logout.text]).toEqual([403, expect.stringContaining('CSRF token')]);
    // Still signed in: the forged logout changed nothing.
    const session = await raw(web, `GET /session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${cookie}\r\n`);
    expect(session.status).toBe(200);
    expect(connection()).toContain('CONNECT=Off');
    await page.close();
  });

  it('malformed, oversize and impossible requests on the WebSocket are refused and change nothing', async () => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${web}/`);
    await page.waitForSelector('#conn.state-Ok');
    const answers = await page.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      const errors: string[] = [];
      let closed = 0;
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === 'error') errors.push(message.message);
      };
      const closing = new Promise<void>((resolve) => {
        ws.onclose = (event) => {
          closed = event.code;
          resolve();
        };
      });
      await new Promise((resolve) => (ws.onopen = resolve));
      const connect = (members: unknown, extra = {}) =>
        JSON.stringify({ type: 'new', kind: 'switch', device: 'Telescope Simulator', name: 'CONNECTION', members, ...extra });
      ws.send('{"type": "new", ');
      ws.send('[1, 2, 3]');
      ws.send(connect([{ name: 'CONNECT', value: 'On' }], { pad: 'x'.repeat(300 * 1024) }));
      ws.send(connect([{ name: 'CONNECT', value: 'Maybe' }]));
      ws.send(connect([{ name: 'CONNECT', value: 'On' }], { kind: 'light' }));
      ws.send(connect([{ name: 'CONNECT', value: 'On' }], { device: 'Nobody' }));
      ws.send(new Uint8Array([1, 2, 3]));
      const deadline = Date.now() + 5000;
      while (errors.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      ws.send('x'.repeat(5 * 1024 * 1024));
      await Promise.race([closing, new Promise((r) => setTimeout(r, 5000))]);
      return { errors, closed };
    });
    expect(answers.errors).toEqual([
      expect.stringContaining('malformed JSON'),
      expect.stringContaining('must be a JSON object'),
      expect.stringContaining('request too large'),
      expect.stringContaining('a switch is On or Off'),
      expect.stringContaining("'kind' must be text, number or switch"),
      expect.stringContaining('no property Nobody.CONNECTION'),
      expect.stringContaining('binary messages are not understood'),
    ]);
    expect(answers.closed, 'a frame over 4 MiB closes the connection').toBeGreaterThan(1000);
    expect(connection()).toContain('CONNECT=Off');
    expect(server.child.exitCode).toBeNull();
    await page.close();
  }, 60_000);
});
