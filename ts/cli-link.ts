// The connection of the libindi-style CLI tools (getprop, setprop): raw elements in stream order.
import type { WireElement } from './native.js';
import type { Inbound } from './wire.js';

/** A tool's connection to a server. */
export interface ToolLink {
  send(element: WireElement): void;
  /** Closes after writing what was sent. */
  finish(): Promise<void>;
}

/** libindi's tools' flags shared by all: `-h host -p port -t timeout -v`, and C's `atoi`. */
export function atoi(text: string | undefined): number {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

/** The OS's words for a connection error, as `perror` prints them (without Rust's `(os error N)`). */
function osText(message: string): string {
  return message.replace(/^cannot connect to [^:]*:\d+: /, '').replace(/ \(os error \d+\)$/, '');
}

/**
 * Connects as libindi's tools do; on failure prints their message and resolves null (exit 2).
 * `onElement` gets each element; `onEnd` the end of the stream.
 */
export async function openLink(host: string, port: number, onElement: (e: Inbound) => void, onEnd: (error: string) => void): Promise<ToolLink | null> {
  const { native } = await import('./native.js');
  const { updatesOf } = await import('./wire.js');
  const link = new native.ClientLink((batch) => {
    for (const item of batch) for (const element of typeof item === 'string' ? updatesOf(item) : [item]) onElement(element);
  });
  try {
    await link.connect(host, port);
  } catch (error) {
    const text = osText((error as Error).message);
    console.error(/lookup|resolve|Name or service/i.test(text) ? 'gethostbyname: Unknown host' : `connect: ${text}`);
    return null;
  }
  void link.run().then(onEnd);
  return { send: (e) => void link.send(e), finish: () => link.finish() };
}

/** Prints libindi's usage text of a tool on stderr; the tools then exit with status 2. */
export function usage(text: string): number {
  process.stderr.write(text);
  return 2;
}
