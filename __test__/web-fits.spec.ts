// The panel's FITS reader (crates/indi-web/assets/fits.js) on images built here: 16-bit with
// BZERO/BSCALE, floats, bad files refused with a reason, and the stretch's levels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

interface Image {
  width: number;
  height: number;
  bitpix: number;
  data: Float32Array;
}
interface Fits {
  parse(buffer: ArrayBuffer): Image;
  levels(image: Image, low?: number, high?: number): { lo: number; hi: number; median: number };
}
const sandbox: { window: { Fits?: Fits } } = { window: {} };
runInNewContext(readFileSync(join(ROOT, 'crates', 'indi-web', 'assets', 'fits.js'), 'utf8'), sandbox);
const Fits = sandbox.window.Fits!;

/** A FITS file: the cards (80 columns, padded to 2880), then `data` padded to 2880. */
function fits(cards: string[], data: Buffer): ArrayBuffer {
  const head = Buffer.from([...cards, 'END'].map((c) => c.padEnd(80)).join(''), 'latin1');
  const pad = (b: Buffer, fill: number) => Buffer.concat([b, Buffer.alloc((2880 - (b.length % 2880)) % 2880, fill)]);
  const file = Buffer.concat([pad(head, 0x20), pad(data, 0)]);
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.length);
}
const card = (key: string, value: string | number) => `${key.padEnd(8)}= ${String(value).padStart(20)}`;

describe('fits.js', () => {
  it('reads 16-bit images with BZERO and BSCALE, big-endian, as physical values', () => {
    const data = Buffer.alloc(3 * 2 * 2);
    [-32768, -32767, 0, 1, 32767, 100].forEach((v, i) => data.writeInt16BE(v, i * 2));
    const image = Fits.parse(
      fits(
        ['SIMPLE  =                    T', card('BITPIX', 16), card('NAXIS', 2), card('NAXIS1', 3), card('NAXIS2', 2), card('BZERO', 32768), card('BSCALE', 2)],
        data,
      ),
    );
    expect([image.width, image.height, image.bitpix]).toEqual([3, 2, 16]);
    // BZERO + BSCALE × stored: unsigned 16-bit cameras write BZERO=32768, BSCALE=1.
    expect([...image.data]).toEqual([-32768, -32766, 32768, 32770, 98302, 32968]);
  });

  it('reads 32-bit floats, and finds levels at percentiles and the median', () => {
    const data = Buffer.alloc(100 * 4);
    for (let i = 0; i < 100; i++) data.writeFloatBE(i === 99 ? 1e6 : i / 10, i * 4);
    const image = Fits.parse(fits(['SIMPLE  =                    T', card('BITPIX', -32), card('NAXIS', 2), card('NAXIS1', 10), card('NAXIS2', 10)], data));
    expect(image.data[5]).toBeCloseTo(0.5);
    const { lo, hi, median } = Fits.levels(image, 0, 98);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(9.7, 5);
    expect(median).toBeCloseTo(5, 0);
  });

  it('refuses what it cannot draw, with a reason', () => {
    const one = Buffer.alloc(8);
    expect(() => Fits.parse(fits(['NOTFITS =                    T'], one))).toThrow('not a FITS file');
    expect(() => Fits.parse(fits(['SIMPLE  =                    T', card('BITPIX', 8), card('NAXIS', 1), card('NAXIS1', 8)], one))).toThrow('NAXIS=1');
    expect(() =>
      Fits.parse(fits(['SIMPLE  =                    T', card('BITPIX', 16), card('NAXIS', 2), card('NAXIS1', 3000), card('NAXIS2', 3000)], one)),
    ).toThrow('shorter than its header');
    expect(() => Fits.parse(fits(['SIMPLE  =                    T', card('BITPIX', 12), card('NAXIS', 2), card('NAXIS1', 1), card('NAXIS2', 1)], one))).toThrow(
      'BITPIX=12',
    );
  });
});
