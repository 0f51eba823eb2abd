/// <reference lib="dom" />
// The web panel's number inputs and BLOB views in a real browser (Debian's chromium driven by
// playwright-core), against a small driver written here: min/max/step refused in the form with
// an inline reason, PNG and JPEG BLOBs shown as images (pixels read back), other BLOBs offered
// as downloads (bytes compared), and the plot of a read-only number following its values.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, peersAvailable, stopAll, tempDir, waitForPort } from './helpers.js';
import { serve } from './rawclient.js';

const CHROMIUM = '/usr/bin/chromium';
const ready = peersAvailable(CHROMIUM);

/** A driver program (executable: not served in-process) speaking raw INDI on stdio: numbers with limits, a read-only number that changes
 * every 150 ms, and three BLOBs (PNG, JPEG, other) read from the files it is given. */
const DRIVER = `#!/usr/bin/env node
import { readFileSync } from 'node:fs';
const [png, jpeg, bin] = ['PNG_FILE', 'JPEG_FILE', 'BIN_FILE'].map((k) => readFileSync(process.env[k]));
const out = (xml) => process.stdout.write(xml + '\\n');
const defs = () => {
  out('<defNumberVector device="Dev" name="SETTINGS" label="Settings" group="Main" state="Idle" perm="rw" timeout="0">' +
    '<defNumber name="GAIN" label="Gain" format="%g" min="0" max="100" step="5">10</defNumber>' +
    '<defNumber name="OFFSET" label="Offset" format="%g" min="0" max="0" step="0">0</defNumber>' +
    '<defNumber name="EXPOSURE" label="Exposure" format="%5.2f" min="0.2" max="3600" step="0.1">1.0</defNumber>' +
    '<defNumber name="DURATION" label="Duration" format="%5.2f" min="0.01" max="3600" step="1">1</defNumber></defNumberVector>');
  out('<defNumberVector device="Dev" name="TEMP" label="Temperature" group="Main" state="Ok" perm="ro" timeout="0">' +
    '<defNumber name="T" label="T" format="%.1f" min="0" max="0" step="0">0</defNumber></defNumberVector>');
  out('<defBLOBVector device="Dev" name="IMAGES" label="Images" group="Main" state="Idle" perm="ro" timeout="0">' +
    '<defBLOB name="PNG" label="png"/><defBLOB name="JPEG" label="jpeg"/><defBLOB name="RAW" label="raw"/></defBLOBVector>');
  setTimeout(() => out('<setBLOBVector device="Dev" name="IMAGES" state="Ok">' +
    '<oneBLOB name="PNG" size="' + png.length + '" format=".png">' + png.toString('base64') + '</oneBLOB>' +
    '<oneBLOB name="JPEG" size="' + jpeg.length + '" format=".jpg">' + jpeg.toString('base64') + '</oneBLOB>' +
    '<oneBLOB name="RAW" size="' + bin.length + '" format=".bin">' + bin.toString('base64') + '</oneBLOB></setBLOBVector>'), 300);
};
let i = 0;
setInterval(() => out('<setNumberVector device="Dev" name="TEMP" state="Ok"><oneNumber name="T">' + (20 + 5 * Math.sin(i++ / 3)).toFixed(3) + '</oneNumber></setNumberVector>'), 150);
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  text += chunk;
  if (text.includes('<getProperties')) { text = text.replace(/<getProperties[^>]*>/, ''); defs(); }
  const set = /<newNumberVector[^>]*name="SETTINGS"[\\s\\S]*?<\\/newNumberVector>/.exec(text);
  if (set) {
    text = text.slice(set.index + set[0].length);
    out(set[0].replace('<newNumberVector', '<setNumberVector state="Ok"').replace('</newNumberVector>', '</setNumberVector>'));
  }
});
`;

let browser: Browser;
let dir: ReturnType<typeof tempDir>;
let web = 0;
let raw: Buffer;

/** Images of known colours made by the browser itself: left half red, right half blue. */
async function makeImage(page: Page, type: 'image/png' | 'image/jpeg'): Promise<Buffer> {
  const url = await page.evaluate((type) => {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [32, 16];
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#ff0000';
    context.fillRect(0, 0, 16, 16);
    context.fillStyle = '#0000ff';
    context.fillRect(16, 0, 16, 16);
    return canvas.toDataURL(type, 1);
  }, type);
  return Buffer.from(url.split(',')[1], 'base64');
}

/** A GET from the page (its cookies, its origin): the Content-Type and the bytes. */
function fetchInPage(page: Page, href: string): Promise<{ type: string | null; bytes: number[] }> {
  return page.evaluate(async (href) => {
    const response = await fetch(href);
    return { type: response.headers.get('content-type'), bytes: [...new Uint8Array(await response.arrayBuffer())] };
  }, href);
}

async function openPanel(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
  await page.goto(`http://127.0.0.1:${web}/`);
  await page.locator('#devices button', { hasText: 'Dev' }).first().click({ timeout: 20_000 });
  await page.waitForSelector('.vector[data-name="SETTINGS"]', { timeout: 20_000 });
  return page;
}

describe.skipIf(!ready)('web panel: number limits, images, downloads and plots in a browser', () => {
  beforeAll(async () => {
    dir = tempDir('indi-node-web-values-');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const blank = await browser.newPage();
    writeFileSync(join(dir.path, 'a.png'), await makeImage(blank, 'image/png'));
    writeFileSync(join(dir.path, 'a.jpg'), await makeImage(blank, 'image/jpeg'));
    await blank.close();
    raw = randomBytes(3000);
    writeFileSync(join(dir.path, 'a.bin'), raw);
    writeFileSync(join(dir.path, 'driver.mjs'), DRIVER, { mode: 0o755 });
    web = await freePort();
    const env = { PNG_FILE: join(dir.path, 'a.png'), JPEG_FILE: join(dir.path, 'a.jpg'), BIN_FILE: join(dir.path, 'a.bin') };
    await serve(['--web', `127.0.0.1:${web}`, join(dir.path, 'driver.mjs')], { env: { ...process.env, ...env } });
    await waitForPort(web);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopAll();
    dir?.remove();
  });

  it('refuses a number off min + k·step or out of min … max, inline, and sends one on it', async () => {
    const page = await openPanel();
    const vector = '.vector[data-name="SETTINGS"]';
    const hint = (name: string) => page.textContent(`${vector} [data-problem=${name}]`);
    await page.fill(`${vector} input[name=GAIN]`, '12');
    expect(await hint('GAIN')).toBe('must be 0 + a multiple of 5 (nearest: 10 or 15)');
    expect(await page.getAttribute(`${vector} input[name=GAIN]`, 'aria-invalid')).toBe('true');
    await page.click(`${vector} .actions button`);
    await page.waitForSelector('#messages li.error', { timeout: 5000 });
    expect(await page.textContent('#messages li.error')).toContain('Settings: Gain must be 0 + a multiple of 5');
    await page.fill(`${vector} input[name=GAIN]`, '105');
    expect(await hint('GAIN')).toBe('must be a number in 0 … 100');
    await page.fill(`${vector} input[name=GAIN]`, 'x');
    expect(await hint('GAIN')).toBe('must be a number in 0 … 100');
    // The grid starts at min (0.2 here), and decimal steps are not refused for rounding.
    await page.fill(`${vector} input[name=EXPOSURE]`, '0.35');
    expect(await hint('EXPOSURE')).toBe('must be 0.2 + a multiple of 0.1 (nearest: 0.3 or 0.4)');
    await page.fill(`${vector} input[name=EXPOSURE]`, '2.5');
    expect(await hint('EXPOSURE')).toBe('');
    // A min off its step grid (libindi's CCD exposure: 0.01 … 3600, step 1): step only increments.
    await page.fill(`${vector} input[name=DURATION]`, '0.5');
    expect(await hint('DURATION')).toBe('');
    await page.fill(`${vector} input[name=DURATION]`, '3601');
    expect(await hint('DURATION')).toBe('must be a number in 0.01 … 3600');
    await page.fill(`${vector} input[name=DURATION]`, '0.5');
    await page.fill(`${vector} input[name=GAIN]`, '15');
    expect(await hint('GAIN')).toBe('');
    // Step 0 and min = max: no constraint.
    await page.fill(`${vector} input[name=OFFSET]`, '-7.3');
    expect(await hint('OFFSET')).toBe('');
    // Nothing was sent yet: the driver echoes what it gets, and still shows its first values.
    expect((await page.textContent(`${vector} [data-value=GAIN]`))?.trim()).toBe('10');
    await page.click(`${vector} .actions button`);
    await page.waitForFunction(() => document.querySelector('.vector[data-name="SETTINGS"] [data-value=GAIN]')?.textContent?.trim() === '15', undefined, {
      timeout: 10_000,
    });
    expect((await page.textContent(`${vector} [data-value=OFFSET]`))?.trim()).toBe('-7.3');
    expect((await page.textContent(`${vector} [data-value=EXPOSURE]`))?.trim()).toBe('2.50');
    expect((await page.textContent(`${vector} [data-value=DURATION]`))?.trim()).toBe('0.50');
    await page.close();
  }, 60_000);

  it('shows PNG and JPEG BLOBs as images with their colours, and offers the others as downloads', async () => {
    const page = await openPanel();
    const images = '.vector[data-name="IMAGES"]';
    await page.waitForSelector(`${images} img[alt=png]`, { timeout: 20_000 });
    await page.waitForSelector(`${images} img[alt=jpeg]`, { timeout: 20_000 });
    const colours = await page.evaluate(async () => {
      const read = async (alt: string) => {
        const img = document.querySelector(`.vector[data-name="IMAGES"] img[alt=${alt}]`) as HTMLImageElement;
        await img.decode();
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
        const context = canvas.getContext('2d')!;
        context.drawImage(img, 0, 0);
        const at = (x: number, y: number) => [...context.getImageData(x, y, 1, 1).data];
        return { size: [img.naturalWidth, img.naturalHeight], left: at(4, 8), right: at(27, 8) };
      };
      return { png: await read('png'), jpeg: await read('jpeg') };
    });
    expect(colours.png).toEqual({ size: [32, 16], left: [255, 0, 0, 255], right: [0, 0, 255, 255] });
    expect(colours.jpeg.size).toEqual([32, 16]);
    const near = (pixel: number[], expected: number[]) => pixel.every((v, i) => Math.abs(v - expected[i]) <= 8);
    expect(near(colours.jpeg.left, [255, 0, 0, 255]), `JPEG left ${colours.jpeg.left}`).toBe(true);
    expect(near(colours.jpeg.right, [0, 0, 255, 255]), `JPEG right ${colours.jpeg.right}`).toBe(true);
    // The other BLOB: no image, a download link whose bytes are the driver's.
    const box = page.locator(`${images} .member-blob`, { hasText: 'raw' });
    expect(await box.locator('img, canvas').count()).toBe(0);
    const link = box.locator('a[download]');
    expect(await link.getAttribute('download')).toBe('RAW.bin');
    expect(await link.textContent()).toBe(`download .bin (${raw.length} bytes)`);
    const href = (await link.getAttribute('href'))!;
    const got = await fetchInPage(page, href);
    expect(got.type).toBe('application/octet-stream');
    expect(Buffer.from(got.bytes).equals(raw)).toBe(true);
    // The images' bytes are served as they came, with their types.
    const pngHref = (await page.getAttribute(`${images} img[alt=png]`, 'src'))!;
    const png = await fetchInPage(page, pngHref);
    expect(png.type).toBe('image/png');
    expect(Buffer.from(png.bytes).equals(readFileSync(join(dir.path, 'a.png')))).toBe(true);
    await page.close();
  }, 60_000);

  it("plots a read-only number's recent values, and the plot follows them", async () => {
    const page = await openPanel();
    const read = () =>
      page.evaluate(() => {
        const canvas = document.querySelector('.vector[data-name="TEMP"] canvas.plot') as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const drawn: number[] = [];
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn.push((i - 3) / 4);
        return { drawn: drawn.length, rows: new Set(drawn.map((p) => Math.floor(p / canvas.width))).size, key: drawn.join(',') };
      });
    let first = await read();
    for (let tries = 0; first.drawn === 0 && tries < 50; tries++) {
      await page.waitForTimeout(100);
      first = await read();
    }
    // A line through several values: drawn pixels on several rows (a flat line would be one).
    expect(first.drawn).toBeGreaterThan(20);
    expect(first.rows).toBeGreaterThan(3);
    await page.waitForTimeout(1000);
    const later = await read();
    expect(later.drawn).toBeGreaterThan(20);
    expect(later.key, 'the plot changed with the values').not.toBe(first.key);
    await page.close();
  }, 60_000);
});
