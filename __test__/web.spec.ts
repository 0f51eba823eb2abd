/// <reference lib="dom" />
// The web panel in a real browser (Debian's chromium driven by playwright-core): sign-in, the
// simulators' devices and the LED example, setting values, a CCD image drawn on the canvas, a
// viewer refused by the server, the panel of a libindi indiserver that restarts, and the
// login rate limit.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, ROOT, freePort, peersAvailable, start, startIndiserver, stopAll, tempDir, until, waitForPort, type Proc } from './helpers.js';
import { CLI, serve } from './rawclient.js';

const CHROMIUM = '/usr/bin/chromium';
const ready = peersAvailable(CHROMIUM, 'indiserver', 'indi_simulator_telescope', 'indi_simulator_ccd');
/** Screenshots go to docs/img when SCREENSHOTS=1 (to refresh the README's), else to a temporary directory. */
const shots = process.env.SCREENSHOTS === '1' ? join(ROOT, 'docs', 'img') : null;

let browser: Browser;
let dir: ReturnType<typeof tempDir>;
let web = 0;
let users = '';
let adminPassword = '';

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`http://127.0.0.1:${web}/`);
  await page.fill('#login input[name=user]', user);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#conn.state-Ok', { timeout: 10_000 });
}

async function openDevice(page: Page, device: string): Promise<void> {
  await page.locator('#devices button', { hasText: device }).first().click({ timeout: 20_000 });
}

/** Clicks through the device's group tabs until the vector is shown. */
async function openVector(page: Page, name: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await page.locator(`.vector[data-name="${name}"]`).count()) > 0) return;
    for (const tab of await page.locator('#groups button').all()) {
      await tab.click();
      if ((await page.locator(`.vector[data-name="${name}"]`).count()) > 0) return;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`vector ${name} not shown after ${ms} ms`);
}

async function connectDevice(page: Page, device: string): Promise<void> {
  await openDevice(page, device);
  await openVector(page, 'CONNECTION');
  await page.click('.vector[data-name="CONNECTION"] button[name="CONNECT"]');
  await page.waitForSelector('.vector[data-name="CONNECTION"] button[name="CONNECT"].on', { timeout: 20_000 });
}

describe.skipIf(!ready)('web panel in a browser', () => {
  let server: Proc;
  beforeAll(async () => {
    dir = tempDir('indi-node-web-');
    users = join(dir.path, 'users.db');
    web = await freePort();
    const led = join(DIST, 'examples', 'led.js');
    const started = await serve(['--web', `127.0.0.1:${web}`, '--web-users', users, '--web-login', 'indi_simulator_telescope', 'indi_simulator_ccd', led]);
    server = started.proc;
    await waitForPort(web);
    await until(() => /password (\w+)/.test(server.stdout()), 10_000, 'the admin password');
    adminPassword = /password (\w+)/.exec(server.stdout())![1];
    const added = spawnSync(process.execPath, [CLI, 'web', 'user', 'add', 'watcher', '--role', 'viewer', '--users', users], {
      input: 'viewer-password\n',
      encoding: 'utf8',
    });
    expect(added.stdout + added.stderr).toContain('added web user "watcher" (viewer)');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopAll();
    dir?.remove();
  });

  it('the first run printed an admin password once, and the page asks to sign in', async () => {
    expect(server.stdout()).toMatch(/created web user "admin" \(operator\) with password [0-9a-f]{24}/);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${web}/`);
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.locator('#devices button').count()).toBe(0);
    await page.close();
  });

  it('an operator connects the telescope, sets a sexagesimal coordinate and switches the LED', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 850 } });
    const page = await context.newPage();
    await signIn(page, 'admin', adminPassword);
    for (const device of ['Telescope Simulator', 'CCD Simulator', 'led'])
      await page.locator('#devices button', { hasText: device }).first().waitFor({ timeout: 20_000 });
    await connectDevice(page, 'Telescope Simulator');
    await openVector(page, 'EQUATORIAL_EOD_COORD');
    const coord = '.vector[data-name="EQUATORIAL_EOD_COORD"]';
    await page.fill(`${coord} input[name=RA]`, '5:30:00');
    await page.fill(`${coord} input[name=DEC]`, '89:30:00');
    await page.click(`${coord} .actions button`);
    // The driver got the sexagesimal text as a number (it says where it slews in its own format).
    await page.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('Slewing to RA:  5:30:00 - DEC: 89:30:00'), undefined, {
      timeout: 20_000,
    });
    // The mount gets there (the simulator overshoots RA by some seconds), shown in the driver's %010.6m.
    await page.waitForSelector(`${coord} .vhead .dot.state-Ok`, { timeout: 60_000 });
    expect((await page.textContent(`${coord} [data-value=RA]`))?.trim()).toMatch(/^5:3\d:\d\d$/);
    expect((await page.textContent(`${coord} [data-value=DEC]`))?.trim()).toBe('89:30:00');
    if (shots) {
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'web-device.png') });
    }
    await openDevice(page, 'led');
    await openVector(page, 'ledvector');
    await page.click('.vector[data-name="ledvector"] button[name="ledmember"]');
    await page.waitForSelector('.vector[data-name="ledvector"] button[name="ledmember"].on', { timeout: 10_000 });
    // Out of range is refused in the form: nothing is sent.
    await openDevice(page, 'Telescope Simulator');
    await openVector(page, 'EQUATORIAL_EOD_COORD');
    await page.fill(`${coord} input[name=DEC]`, '123');
    await page.click(`${coord} .actions button`);
    await page.waitForSelector('#messages li.error', { timeout: 5000 });
    expect(await page.textContent('#messages li.error')).toContain('DEC (dd:mm:ss) must be a number in -90 … 90');
    await context.close();
  }, 120_000);

  it('a CCD exposure is drawn on the canvas, and its FITS is served binary over HTTP', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1100 } });
    const page = await context.newPage();
    await signIn(page, 'admin', adminPassword);
    await connectDevice(page, 'CCD Simulator');
    await openVector(page, 'CCD_EXPOSURE');
    // libindi's CCDs define the exposure as 0.01 … 3600, step 1 (min off the step grid): step is
    // the arrow keys' increment there, and 0.5 s is taken as libindi's own clients take it.
    await page.fill('.vector[data-name="CCD_EXPOSURE"] input[name=CCD_EXPOSURE_VALUE]', '0.5');
    expect(await page.textContent('.vector[data-name="CCD_EXPOSURE"] [data-problem=CCD_EXPOSURE_VALUE]')).toBe('');
    await page.click('.vector[data-name="CCD_EXPOSURE"] .actions button');
    await openVector(page, 'CCD1');
    await page.waitForSelector('.vector[data-name="CCD1"] canvas.image[data-drawn]', { timeout: 60_000 });
    const pixels = await page.evaluate(() => {
      const canvas = document.querySelector('.vector[data-name="CCD1"] canvas.image') as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const levels = new Set<number>();
      let opaque = true;
      for (let i = 0; i < data.length; i += 4) {
        levels.add(data[i]);
        opaque &&= data[i + 3] === 255 && data[i] === data[i + 1];
      }
      let dark = 0;
      let bright = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 64) dark++;
        else if (data[i] > 192) bright++;
      }
      return { width: canvas.width, height: canvas.height, levels: levels.size, opaque, dark, bright, total: data.length / 4 };
    });
    expect(pixels.opaque).toBe(true);
    // Sky noise spans the stretch (the simulator's is a few ADU: several grey levels) and stars are white.
    expect(pixels.levels, 'a stretched star field, not a flat fill').toBeGreaterThanOrEqual(5);
    expect(pixels.dark).toBeGreaterThan(pixels.total / 10);
    expect(pixels.bright).toBeGreaterThan(0);
    if (shots) await page.locator('.vector[data-name="CCD1"]').screenshot({ path: join(shots, 'web-image.png') });
    const url = await page.getAttribute('.vector[data-name="CCD1"] a[download]', 'href');
    const size = Number(/\((\d+) bytes\)/.exec((await page.textContent('.vector[data-name="CCD1"] a[download]'))!)![1]);
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const response = await fetch(`http://127.0.0.1:${web}${url}`, { headers: { cookie } });
    expect(response.headers.get('content-type')).toBe('application/fits');
    expect(Number(response.headers.get('content-length'))).toBe(size);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(size);
    expect(body.subarray(0, 6).toString()).toBe('SIMPLE');
    // The canvas is the image the FITS header describes.
    const card = (key: string) => Number(new RegExp(`${key} *= *(-?\\d+)`).exec(body.subarray(0, 2880 * 4).toString('latin1'))![1]);
    expect([pixels.width, pixels.height]).toEqual([card('NAXIS1'), card('NAXIS2')]);
    expect(card('BITPIX')).toBe(16);
    expect((await fetch(`http://127.0.0.1:${web}${url}`)).status, 'not without a session').toBe(401);
    await context.close();
  }, 120_000);

  it("a viewer sees everything but the server refuses the viewer's set", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'watcher', 'viewer-password');
    await openDevice(page, 'led');
    await openVector(page, 'ledvector');
    expect(await page.isDisabled('.vector[data-name="ledvector"] button[name="ledmember"]')).toBe(true);
    const refused = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/ws`);
          ws.onmessage = (event) => {
            const message = JSON.parse(event.data);
            if (message.type === 'error') resolve(message.message);
          };
          ws.onopen = () =>
            ws.send(JSON.stringify({ type: 'new', kind: 'switch', device: 'led', name: 'ledvector', members: [{ name: 'ledmember', value: 'Off' }] }));
        }),
    );
    expect(refused).toContain('viewers may not set');
    await page.waitForTimeout(500);
    expect(await page.getAttribute('.vector[data-name="ledvector"] button[name="ledmember"]', 'class')).toBe('on');
    await context.close();
  }, 60_000);

  it('a wrong password is rate-limited, even before the right one', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${web}/`);
    for (let i = 0; i < 5; i++) {
      await page.fill('#login input[name=user]', 'admin');
      await page.fill('#login input[name=password]', `wrong ${i}`);
      await page.click('#login button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#login-error')?.textContent?.includes('wrong user name or password'));
      await page.evaluate(() => (document.querySelector('#login-error')!.textContent = ''));
    }
    await page.fill('#login input[name=password]', adminPassword);
    await page.click('#login button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-error')?.textContent?.includes('too many failed logins'));
    expect(await page.isHidden('#panel')).toBe(true);
    await page.close();
  }, 60_000);
});

describe.skipIf(!ready)('web panel of a libindi indiserver', () => {
  afterAll(stopAll);

  it('shows its devices, and recovers when the INDI server restarts', async () => {
    const first = await startIndiserver(['indi_simulator_telescope']);
    const port = await freePort();
    const panel = start(process.execPath, [CLI, 'web', '--indi', `127.0.0.1:${first.port}`, '--listen', `127.0.0.1:${port}`]);
    await waitForPort(port);
    const own = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await own.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`http://127.0.0.1:${port}/`);
    const telescope = page.locator('#devices button', { hasText: 'Telescope Simulator' });
    await telescope.waitFor({ timeout: 20_000 });
    first.proc.child.kill('SIGTERM');
    await first.proc.exited;
    await telescope.waitFor({ state: 'detached', timeout: 10_000 });
    const again = start('indiserver', ['-p', String(first.port), '-u', `/tmp/indi-node-test-${first.port}-2`, '-r', '0', 'indi_simulator_telescope']);
    await waitForPort(first.port);
    await telescope.waitFor({ timeout: 30_000 });
    await openVector(page, 'CONNECTION');
    expect(await page.locator('#conn').textContent()).toBe('connected');
    again.child.kill('SIGTERM');
    panel.child.kill('SIGTERM');
    await own.close();
  }, 90_000);
});

describe.skipIf(!ready || !peersAvailable('openssl'))('web panel over TLS', () => {
  afterAll(stopAll);

  it('--web-cert/--web-key serve HTTPS only, with Secure cookies and the WebSocket over wss', async () => {
    const tls = tempDir('indi-node-web-tls-');
    const [cert, key] = [join(tls.path, 'cert.pem'), join(tls.path, 'key.pem')];
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], {
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const port = await freePort();
    const served = await serve([
      '--web',
      `127.0.0.1:${port}`,
      '--web-cert',
      cert,
      '--web-key',
      key,
      '--web-users',
      join(tls.path, 'u.db'),
      '--web-login',
      'indi_simulator_telescope',
    ]);
    await waitForPort(port);
    await until(() => /password (\w+)/.test(served.proc.stdout()), 10_000, 'the admin password');
    expect(served.proc.stderr()).toContain(`web panel on https://127.0.0.1:${port}/`);
    const own = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const context = await own.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`https://127.0.0.1:${port}/`);
      await page.fill('#login input[name=user]', 'admin');
      await page.fill('#login input[name=password]', /password (\w+)/.exec(served.proc.stdout())![1]);
      await page.click('#login button[type=submit]');
      await page.locator('#devices button', { hasText: 'Telescope Simulator' }).waitFor({ timeout: 20_000 });
      expect((await context.cookies()).find((c) => c.name === 'indi_session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
      const plain = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect(plain).toBe('refused');
    } finally {
      await own.close();
      tls.remove();
    }
  }, 60_000);
});
