// A client's elements as Rust hands them over: `set*Vector`s of values as one NUL-joined string
// (see flat_update in src/client.rs), anything else as a WireElement.
import type { WireMember } from './native.js';
import type { Inbound, Tag } from './wire.js';

/** The element (or read error) of a delivered item. */
export function unflatten(item: Inbound | string): Inbound {
  if (typeof item !== 'string') return item;
  const p = item.split('\0');
  const members: WireMember[] = [];
  for (let i = 7; i + 1 < p.length; i += 2) members.push({ name: p[i], value: p[i + 1] });
  const timeout = p[4] === '' ? undefined : Number(p[4]);
  return {
    tag: p[0] as Tag,
    device: p[1],
    name: p[2],
    state: p[3] || undefined,
    timeout: Number.isFinite(timeout) ? timeout : undefined,
    timestamp: p[5] || undefined,
    message: p[6] || undefined,
    members,
  };
}
