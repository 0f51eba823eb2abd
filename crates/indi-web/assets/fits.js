// FITS images in the page: the primary HDU read (BITPIX 8/16/32/-32/-64, BZERO/BSCALE) and
// drawn on a canvas with a linear stretch between two levels (automatic: percentiles).
'use strict';
window.Fits = (() => {
  const BLOCK = 2880;

  function header(bytes) {
    const cards = new Map();
    for (let at = 0; at + 80 <= bytes.length; at += 80) {
      const card = String.fromCharCode(...bytes.subarray(at, at + 80));
      const key = card.slice(0, 8).trim();
      if (key === 'END') return { cards, dataStart: Math.ceil((at + 80) / BLOCK) * BLOCK };
      if (card[8] !== '=') continue;
      let value = card.slice(10);
      const quoted = value.trim().startsWith("'");
      value = quoted ? value.trim().slice(1, value.trim().indexOf("'", 1)) : value.split('/')[0].trim();
      cards.set(key, quoted ? value : Number(value));
    }
    throw new Error('FITS header without END');
  }

  /** The image: width, height and physical values (BZERO + BSCALE × stored), row 0 at the bottom. */
  function parse(buffer) {
    const bytes = new Uint8Array(buffer);
    if (String.fromCharCode(...bytes.subarray(0, 6)) !== 'SIMPLE') throw new Error('not a FITS file');
    const { cards, dataStart } = header(bytes);
    const bitpix = cards.get('BITPIX');
    const naxis = cards.get('NAXIS');
    if (!(naxis >= 2)) throw new Error(`FITS image with NAXIS=${naxis}: nothing to draw`);
    const width = cards.get('NAXIS1');
    const height = cards.get('NAXIS2');
    const bzero = cards.get('BZERO') ?? 0;
    const bscale = cards.get('BSCALE') ?? 1;
    const size = Math.abs(bitpix) / 8;
    const count = width * height;
    if (dataStart + count * size > bytes.length) throw new Error('FITS data shorter than its header says');
    const view = new DataView(buffer, dataStart, count * size);
    const read = {
      8: (i) => view.getUint8(i),
      16: (i) => view.getInt16(i * 2),
      32: (i) => view.getInt32(i * 4),
      '-32': (i) => view.getFloat32(i * 4),
      '-64': (i) => view.getFloat64(i * 8),
    }[bitpix];
    if (!read) throw new Error(`FITS BITPIX=${bitpix} not supported`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = bzero + bscale * read(i);
    return { width, height, bitpix, data };
  }

  /** Black and white levels at the given percentiles, and the median (of a sample of at most 100k pixels). */
  function levels(image, low = 0.25, high = 99.9) {
    const step = Math.max(1, Math.floor(image.data.length / 100000));
    const sample = [];
    for (let i = 0; i < image.data.length; i += step) if (Number.isFinite(image.data[i])) sample.push(image.data[i]);
    sample.sort((a, b) => a - b);
    if (sample.length === 0) return { lo: 0, hi: 1, median: 0.5 };
    const at = (p) => sample[Math.min(sample.length - 1, Math.max(0, Math.round((p / 100) * (sample.length - 1))))];
    const lo = at(low);
    let hi = at(high);
    if (hi <= lo) hi = lo + 1;
    return { lo, hi, median: at(50) };
  }

  /**
   * Draws the image on `canvas` (top row first, as viewers show FITS), black at `lo`, white at
   * `hi`, and the midtones bent so the median (the sky) is a dark grey: faint detail shows, the
   * noise does not swamp it (the midtones transfer function of PixInsight's screen stretch).
   */
  function render(image, canvas, lo, hi, median = (lo + hi) / 2) {
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    const out = context.createImageData(image.width, image.height);
    const scale = 1 / (hi - lo);
    const x0 = Math.min(0.999, Math.max(0.001, (median - lo) * scale));
    const t = 0.2;
    const m = (x0 * (1 - t)) / (x0 - 2 * t * x0 + t);
    const bend = (x) => ((m - 1) * x) / ((2 * m - 1) * x - m);
    for (let y = 0; y < image.height; y++) {
      const from = (image.height - 1 - y) * image.width;
      const to = y * image.width * 4;
      for (let x = 0; x < image.width; x++) {
        const v = 255 * bend(Math.max(0, Math.min(1, (image.data[from + x] - lo) * scale)));
        const o = to + x * 4;
        out.data[o] = out.data[o + 1] = out.data[o + 2] = v;
        out.data[o + 3] = 255;
      }
    }
    context.putImageData(out, 0, 0);
  }

  return { parse, levels, render };
})();
