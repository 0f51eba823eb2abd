// `indi-node setprop`: libindi 1.9.9's indi_setprop (tools/setINDIproperty.c), same flags, spec
// forms and exit status (0 all set, 1 a setting invalid or not found, 2 trouble).
import { atoi, runTool, type ToolSession, usage } from './cli-link.js';
import type { WireElement } from './native.js';

const USAGE = `Purpose: set one or more writable INDI properties
Usage: indi-node setprop [options] {[type] spec} ...
Options:
  -h h  : alternate host, default is localhost
  -p p  : alternate port, default is 7624
  -t t  : max time to wait, default is 2 secs
  -v    : verbose (more are cumulative)
Each spec optionally preceded by its type is sent without first confirming
its structure. This is much more efficient but there is no error checking.
Types are indicated with the following flags:
  -x    : Text
  -n    : Number
  -s    : Switch
Spec may be either:
    device.property.e1[;e2...]=v1[;v2...]
  or
    device.property.e1=v1[;e2=v2...]
Exit status:
  0: all settings successful
  1: at least one setting was invalid
  2: real trouble, try repeating with -v
`;

const TYPES: Record<string, 'Text' | 'Number' | 'Switch'> = { x: 'Text', n: 'Number', s: 'Switch' };

interface SetSpec {
  d: string;
  p: string;
  ev: { e: string; v: string; ok: boolean }[];
  /** Text, Number or Switch when typed on the command line. */
  type?: 'Text' | 'Number' | 'Switch';
}

class Trouble extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** `e1;e2=v1;v2` or `e1=v1;e2=v2`, as scanEV reads them (empty pieces skipped as strtok does). */
function scanEV(spec: SetSpec, ev: string, verbose: number): void {
  if (verbose > 1) process.stderr.write(`Scanning assignments ${ev}\n`);
  const eq = ev.indexOf('=');
  const semi = ev.indexOf(';');
  if (eq < 0) throw new Trouble(`Malformed assignment: ${ev}`, 2, true);
  if (semi < 0 || semi < eq) {
    const es = ev.slice(0, eq).split(';').filter(Boolean);
    const vs = ev
      .slice(eq + 1)
      .split(';')
      .filter(Boolean);
    if (vs.length > es.length) throw new Trouble(`More values than elements for ${spec.d}.${spec.p}`, 2);
    if (es.length > vs.length) throw new Trouble(`More elements than values for ${spec.d}.${spec.p}`, 2);
    es.forEach((e, i) => spec.ev.push({ e, v: vs[i], ok: false }));
  } else {
    for (const piece of ev.split(';')) {
      const at = piece.indexOf('=');
      if (at < 0) throw new Trouble(`Malformed assignment: ${piece}`, 2, true);
      spec.ev.push({ e: piece.slice(0, at), v: piece.slice(at + 1), ok: false });
    }
  }
  if (verbose > 1) for (const { e, v } of spec.ev) process.stderr.write(`Found assignment ${e}=${v}\n`);
}

function parse(argv: string[]): { host: string; port: number; timeout: number; verbose: number; sets: SetSpec[] } {
  let host = 'localhost';
  let port = 7624;
  let timeout = 2;
  let verbose = 0;
  let i = 0;
  flags: for (; i < argv.length && argv[i].startsWith('-'); i++) {
    for (const flag of argv[i].slice(1)) {
      if (flag in TYPES) break flags;
      if (flag === 'v') verbose++;
      else if (flag === 'h' || flag === 'p' || flag === 't') {
        if (i + 1 >= argv.length) throw new Trouble(`-${flag} requires ${flag === 'h' ? 'host name' : flag === 'p' ? 'tcp port number' : 'timeout'}`, 2, true);
        const v = argv[++i];
        if (flag === 'h') host = v;
        else if (flag === 'p') port = atoi(v);
        else timeout = atoi(v);
      } else throw new Trouble(`Unknown flag: ${flag}`, 2, true);
    }
  }
  if (i >= argv.length) throw new Trouble('', 2, true);
  const sets: SetSpec[] = [];
  while (i < argv.length) {
    let type: SetSpec['type'];
    if (argv[i].startsWith('-')) {
      type = TYPES[argv[i][1]];
      if (!type) throw new Trouble(`Bad property type: ${argv[i]}`, 2, true);
      i++;
      if (i >= argv.length) throw new Trouble('Missing spec', 2, true);
    }
    const m = /^([^.]+)\.([^.]+)\.([^\n]+)/.exec(argv[i]);
    if (!m) throw new Trouble(`Malformed property spec: ${argv[i]}`, 2, true);
    const spec: SetSpec = { d: m[1], p: m[2], ev: [], type };
    scanEV(spec, m[3], verbose);
    sets.push(spec);
    i++;
  }
  return { host, port, timeout, verbose, sets };
}

function newVector(type: 'Text' | 'Number' | 'Switch', spec: SetSpec, verbose: number): WireElement {
  if (verbose) for (const { e, v } of spec.ev) process.stderr.write(`  ${spec.d}.${spec.p}.${e} <- ${v}\n`);
  return { tag: `new${type}Vector`, device: spec.d, name: spec.p, members: spec.ev.map(({ e, v }) => ({ name: e, value: v })) };
}

/** Runs `setprop` with `argv` (after the command name); resolves with the exit status. */
export async function setprop(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof Trouble)) throw error;
    if (error.message) process.stderr.write(`${error.message}\n`);
    return error.showUsage ? usage(USAGE) : error.code;
  }
  const { host, port, timeout, verbose, sets } = args;
  const allspeced = sets.every((s) => s.type !== undefined);
  /** Sends one request; a value our encoder refuses (a number that is not one) is trouble. */
  const sendNew = (type: NonNullable<SetSpec['type']>, spec: SetSpec, session: ToolSession): boolean => {
    try {
      session.link!.send(newVector(type, spec, verbose));
      return true;
    } catch (error) {
      process.stderr.write(`${spec.d}.${spec.p}: ${(error as Error).message}\n`);
      session.exit(2);
      return false;
    }
  };
  const findSet = (root: WireElement, session: ToolSession): void => {
    const type = /^def(Text|Number|Switch)Vector$/.exec(root.tag)?.[1] as SetSpec['type'];
    if (!type) return;
    session.alarm();
    const dev = root.device ?? '';
    const prop = root.name ?? '';
    if (verbose > 1) process.stderr.write(`Read definition for ${dev}.${prop}\n`);
    for (const spec of sets) {
      if (dev !== spec.d || prop !== spec.p) continue;
      if (!(root.perm ?? '').includes('w')) {
        if (verbose) process.stderr.write(`${dev}.${prop} is read-only\n`);
        session.exit(1);
        return;
      }
      const names = new Set((root.members ?? []).map((m) => m.name));
      for (const ev of spec.ev) {
        if (!names.has(ev.e)) return;
        ev.ok = true;
      }
      if (!sendNew(type, spec, session)) return;
    }
  };
  return runTool({
    host,
    port,
    timeout,
    verbose: verbose > 0,
    server: `${host}:${port}`,
    onAlarm: (session) => {
      for (const s of sets) for (const ev of s.ev) if (!ev.ok) process.stderr.write(`No ${s.d}.${s.p}.${ev.e} from ${host}:${port}\n`);
      session.exit(1);
    },
    onElement: (root, session) => {
      findSet(root, session);
      if (!session.done && sets.every((s) => s.ev.every((ev) => ev.ok))) session.exit(0);
    },
    onConnect: (link, session) => {
      if (allspeced) {
        for (const spec of sets) if (!sendNew(spec.type!, spec, session)) return;
        session.exit(0);
        return;
      }
      if (verbose) process.stderr.write('Querying for properties\n');
      link.send({ tag: 'getProperties', version: '1.7' });
      session.alarm();
    },
  });
}
