// Plumbing of the reliability suites: `indi-node serve` on a free port, raw INDI clients over
// TCP (127.0.0.1 only), and what /proc says about the server process.
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DIST, freePort, start, until, waitForPort, type Proc } from './helpers.js';

export const CLI = join(DIST, 'cli.js');

/** Starts `indi-node serve` on 127.0.0.1 and a free port (or `port`); resolves once it accepts clients. */
export async function serve(args: string[], options: { env?: NodeJS.ProcessEnv; port?: number } = {}): Promise<{ port: number; proc: Proc }> {
  const port = options.port ?? (await freePort());
  const proc = start(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(port), ...args], {
    env: { ...process.env, ...options.env },
  });
  await waitForPort(port, 15_000);
  return { port, proc };
}

/** A client speaking raw XML; keeps what it received as text (unless `keep` is false). */
export class RawClient {
  text = '';
  bytes = 0;
  closed = false;
  private constructor(
    readonly socket: Socket,
    private readonly keep: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.keep) this.text += chunk.toString('latin1');
    });
    socket.on('close', () => (this.closed = true));
    // A server that closes a hostile client may reset it mid-write: that is expected here.
    socket.on('error', () => undefined);
  }

  static open(port: number, keep = true): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, keep));
      });
      socket.once('error', reject);
    });
  }

  /** Writes, waiting for the socket to drain (resolves false if the server closed it first). */
  send(data: string | Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.socket.write(data, (error) => resolve(!error));
    });
  }

  /** Occurrences of `needle` received so far. */
  count(needle: string): number {
    return this.text.split(needle).length - 1;
  }

  /** Waits until the received text matches (bounded). */
  async waitFor(pattern: string | RegExp, ms = 10_000): Promise<void> {
    const test = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    await until(test, ms, `${String(pattern)} (received ${this.text.length} bytes, closed: ${this.closed})`);
  }

  /** Waits until the server closes the connection (bounded). */
  async waitClosed(ms = 10_000): Promise<void> {
    this.socket.resume();
    await until(() => this.closed, ms, 'the server to close the connection');
  }

  /** Sends a pingRequest and waits for its reply: the connection is open and served. */
  async ping(uid: string, ms = 10_000): Promise<void> {
    await this.send(`<pingRequest uid="${uid}"/>\n`);
    await this.waitFor(`<pingReply uid="${uid}"/>`, ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A field of /proc/PID/status in kB (VmHWM: peak RSS, VmRSS: current RSS). */
export function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(line.split(/\s+/)[1]);
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Lines of `log` that contain `needle` and were written by one of the test drivers (`[X rx]`). */
export function driverLines(log: string, needle: string): string[] {
  return log.split('\n').filter((line) => / rx\] /.test(line) && line.includes(needle));
}
