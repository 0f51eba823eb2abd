// The connection of the libindi-style CLI tools (getprop, setprop): raw elements in stream order.
import type { WireElement } from './native.js';
import { isElement, type Inbound } from './wire.js';

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
  const { elementsOf } = await import('./wire.js');
  const names: string[] = [];
  const link = new native.ClientLink((batch) => {
    for (const item of batch) for (const element of elementsOf(item, names)) onElement(element);
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

/** A running tool: its connection once open, libindi's alarm, and the exit. */
export interface ToolSession {
  /** The connection, null until it is open. */
  readonly link: ToolLink | null;
  /** Whether the tool is exiting. */
  readonly done: boolean;
  /** Ends the tool with `code` once what was sent is written (once; later calls do nothing). */
  exit(code: number): void;
  /** (Re)starts the alarm: `onAlarm` runs after the timeout with no progress (never when 0). */
  alarm(): void;
}

/** What differs between the tools around {@link runTool}'s common loop. */
export interface ToolHooks {
  host: string;
  port: number;
  /** Seconds; 0 waits forever. */
  timeout: number;
  verbose: boolean;
  /** The server as the tool names it when it disconnects (`host/port` or `host:port`). */
  server: string;
  /** Writes what the tool holds back, before any message and at the exit. */
  flush?: () => void;
  onAlarm(session: ToolSession): void;
  onElement(element: WireElement, session: ToolSession): void;
  /** The connection is open: send the first requests. */
  onConnect(link: ToolLink, session: ToolSession): void;
}

/**
 * The loop the libindi tools share: connect (trouble: exit 2), hand each element over, report
 * bad XML and a lost server (exit 2); resolves with the exit status.
 */
export function runTool(hooks: ToolHooks): Promise<number> {
  const { host, port } = hooks;
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const session = {
      link: null as ToolLink | null,
      done: false,
      exit(code: number): void {
        if (session.done) return;
        session.done = true;
        clearTimeout(timer);
        hooks.flush?.();
        void (session.link?.finish() ?? Promise.resolve()).then(() => resolve(code));
      },
      alarm(): void {
        clearTimeout(timer);
        if (hooks.timeout > 0) timer = setTimeout(() => hooks.onAlarm(session), hooks.timeout * 1000);
      },
    };
    const trouble = (text: string): void => {
      hooks.flush?.();
      process.stderr.write(text);
      session.exit(2);
    };
    const onElement = (root: Inbound): void => {
      if (session.done) return;
      if (isElement(root)) hooks.onElement(root, session);
      else trouble(`Bad XML from ${host}/${port}: ${root.error}\n`);
    };
    const onEnd = (error: string): void => {
      if (!session.done) trouble(error ? `read: ${error}\n` : `INDI server ${hooks.server} disconnected\n`);
    };
    void openLink(host, port, onElement, onEnd).then((opened) => {
      if (!opened) return session.exit(2);
      session.link = opened;
      if (hooks.verbose) process.stderr.write(`Connected to ${host} on port ${port}\n`);
      hooks.onConnect(opened, session);
    });
  });
}

/** Prints libindi's usage text of a tool on stderr; the tools then exit with status 2. */
export function usage(text: string): number {
  process.stderr.write(text);
  return 2;
}
