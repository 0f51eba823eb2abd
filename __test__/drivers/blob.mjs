/** The BLOB the all-types test driver sends: 100 000 deterministic bytes (all byte values). */
export function blobBytes() {
  return Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
}
