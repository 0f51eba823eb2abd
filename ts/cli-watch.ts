// `indi-node watch [device[.property]]`: a live view of a server in the terminal. Values update
// in place (the screen is redrawn at most 10 times a second), states are coloured, the latest
// messages stay below. q or Ctrl-C ends it.
import { atoi } from './cli-link.js';
import type { ClientMessage, IndiClient } from './client.js';
import type { ClientVector } from './client-model.js';

const USAGE = `Usage: indi-node watch [-h host] [-p port] [device[.property]]
  A live view of an INDI server: values update in place, states coloured, messages below.
  q or Ctrl-C quits.
`;

const COLOURS: Record<string, string> = { Idle: '\x1b[37m', Ok: '\x1b[32m', Busy: '\x1b[33m', Alert: '\x1b[31m' };
const RESET = '\x1b[0m';
/** A colour code (SGR), kept whole when lines are cut. */
const SGR = new RegExp(`(${String.fromCharCode(27)}\\[[0-9;]*m)`);
const MESSAGE_LINES = 6;

/** One vector as a line: coloured state, name, members `NAME=value` (numbers formatted). */
function vectorLine(v: ClientVector): string {
  const members = [...v.values()].map((m) => {
    const value =
      'text' in m
        ? m.text.trim()
        : Buffer.isBuffer(m.value)
          ? `<${m.value.length} bytes ${(m as { format: string }).format}>`
          : m.value === null
            ? '<none>'
            : String(m.value);
    const coloured = v.kind === 'Light' ? `${COLOURS[value] ?? ''}${value}${RESET}` : value;
    return `${m.name}=${coloured}`;
  });
  return `  ${COLOURS[v.state] ?? ''}[${v.state.padEnd(5)}]${RESET} ${v.name}  ${members.join('  ')}`;
}

/** Cuts `line` to `width` visible columns, keeping colour codes (and resetting after). */
function clip(line: string, width: number): string {
  let out = '';
  let visible = 0;
  for (const part of line.split(SGR)) {
    if (part.startsWith('\x1b[')) out += part;
    else {
      const room = width - visible;
      out += part.slice(0, Math.max(0, room));
      visible += Math.min(part.length, Math.max(0, room));
    }
  }
  return `${out}${RESET}`;
}

/** The screen's lines for `client` filtered to `device`/`property`. */
export function screen(
  client: IndiClient,
  status: string,
  messages: ClientMessage[],
  device: string | undefined,
  property: string | undefined,
  rows: number,
  cols: number,
): string[] {
  const lines = [`indi-node watch  ${client.host}:${client.port}  ${status}`];
  for (const [name, d] of client.devices) {
    if (device !== undefined && name !== device) continue;
    lines.push(`\x1b[1m${name}${RESET}`);
    for (const [, v] of d) if (property === undefined || v.name === property) lines.push(vectorLine(v));
  }
  const room = Math.max(1, rows - MESSAGE_LINES - 1);
  if (lines.length > room) {
    const hidden = lines.length - room + 1;
    lines.splice(room - 1, lines.length, `  … ${hidden} more lines (make the terminal taller, or watch one device)`);
  }
  while (lines.length < room) lines.push('');
  lines.push('─── messages '.padEnd(cols, '─'));
  for (const m of messages.slice(-(MESSAGE_LINES - 1))) lines.push(`${m.timestamp ?? ''} ${m.device ? `${m.device}: ` : ''}${m.message}`);
  return lines.map((l) => clip(l, cols));
}

/** Runs `watch` with `argv`; resolves with the exit status when the user quits. */
export async function watch(argv: string[]): Promise<number> {
  let host = 'localhost';
  let port = 7624;
  let target: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if ((arg === '-h' || arg === '-p') && i + 1 < argv.length) {
      if (arg === '-h') host = argv[++i];
      else port = atoi(argv[++i]);
    } else if (!arg.startsWith('-') && target === undefined) target = arg;
    else {
      process.stderr.write(USAGE);
      return 2;
    }
  }
  const dot = target?.indexOf('.') ?? -1;
  const device = target === undefined ? undefined : dot < 0 ? target : target.slice(0, dot);
  const property = target !== undefined && dot >= 0 ? target.slice(dot + 1) : undefined;
  const { IndiClient } = await import('./client.js');
  const client = new IndiClient({ host, port, device, property });
  const messages: ClientMessage[] = [];
  let status = 'connecting';
  let pending: NodeJS.Timeout | undefined;
  const out = process.stdout;
  const draw = (): void => {
    pending = undefined;
    const lines = screen(client, status, messages, device, property, out.rows || 24, out.columns || 80);
    out.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\n')}\x1b[J`);
  };
  const redraw = (): void => {
    pending ??= setTimeout(draw, 100);
  };
  client.on('define', redraw).on('update', redraw).on('delete', redraw);
  client.on('message', (m) => {
    messages.push(m);
    if (messages.length > 100) messages.shift();
    redraw();
  });
  const show = (text: string): void => {
    status = text;
    redraw();
  };
  client.on('connect', () => show('connected'));
  client.on('disconnect', () => show('disconnected'));
  client.on('reconnecting', (attempt, delay) => show(`reconnecting (attempt ${attempt} in ${delay} ms)`));
  out.on('resize', redraw);
  // The alternate screen, as full-screen terminal programs use: the shell's screen comes back after.
  out.write('\x1b[?1049h\x1b[?25l');
  const restore = (): void => void out.write('\x1b[?25h\x1b[?1049l');
  return new Promise<number>((resolve) => {
    let retrying: NodeJS.Timeout | undefined;
    let quitting = false;
    const quit = (code: number): void => {
      quitting = true;
      clearTimeout(pending);
      clearTimeout(retrying);
      client.close();
      restore();
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      resolve(code);
    };
    process.once('SIGINT', () => quit(0));
    process.once('SIGTERM', () => quit(0));
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (key: Buffer) => {
        if (key[0] === 0x71 || key[0] === 0x03) quit(0);
      });
    }
    // Until the first connection, try every second (after it, the client reconnects itself).
    const attempt = (): void => {
      if (quitting) return;
      client.connect().then(redraw, (error: Error) => {
        status = `${error.message}; retrying`;
        redraw();
        retrying = setTimeout(attempt, 1000);
      });
    };
    attempt();
    draw();
  });
}
