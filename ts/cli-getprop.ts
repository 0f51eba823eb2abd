// `indi-node getprop`: libindi 1.9.9's indi_getprop (tools/getINDIproperty.c), same flags,
// output, BLOB files and exit status (0 all found, 1 some not found, 2 trouble).
import { writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { atoi, runTool, type ToolSession, usage } from './cli-link.js';
import type { WireElement, WireMember } from './native.js';

const KEYWORDS: Record<string, keyof WireElement> = { _LABEL: 'label', _GROUP: 'group', _STATE: 'state', _PERM: 'perm', _TO: 'timeout', _TS: 'timestamp' };

const USAGE = `Purpose: retrieve readable properties from an INDI server
Usage: indi-node getprop [options] [device.property.element ...]
  Any component may be "*" to match all (beware shell metacharacters).
  Reports all properties if none specified.
  BLOBs are saved in file named device.property.element.format
  Set element to one of following to return property attribute:
${Object.entries(KEYWORDS)
  .map(([k, a]) => `    ${k.padStart(10)} to report ${a}\n`)
  .join('')}Output format: output is fully qualified name=value one per line
  or just value if -1 and exactly one query without wildcards.
Options:
  -1    : print just value if expecting exactly one response
  -h h  : alternate host, default is localhost
  -m    : keep monitoring for more updates
  -p p  : alternate port, default is 7624
  -t t  : max time to wait, default is 2 secs
  -v    : verbose (cumulative)
  -w    : show write-only properties too
Exit status:
  0: found at least one match for each query
  1: at least one query returned nothing
  2: real trouble, try repeating with -v
`;

interface Search {
  d: string;
  p: string;
  e: string;
  wc: boolean;
  ok: boolean;
}

const DEFS = ['defTextVector', 'defNumberVector', 'defSwitchVector', 'defLightVector', 'defBLOBVector', 'setBLOBVector'];
const SETS = ['setTextVector', 'setNumberVector', 'setSwitchVector', 'setLightVector'];

/** Runs `getprop` with `argv` (after the command name); resolves with the exit status. */
export async function getprop(argv: string[]): Promise<number> {
  let host = 'localhost';
  let port = 7624;
  let timeout = 2;
  let verbose = 0;
  let justvalue = false;
  let monitor = false;
  let wflag = false;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    for (const flag of argv[i].slice(1)) {
      const value = (what: string): string | undefined => {
        if (i + 1 >= argv.length) {
          process.stderr.write(`-${flag} requires ${what}\n`);
          return undefined;
        }
        return argv[++i];
      };
      if (flag === '1') justvalue = true;
      else if (flag === 'm') monitor = true;
      else if (flag === 'v') verbose++;
      else if (flag === 'w') wflag = true;
      else if (flag === 'h' || flag === 'p' || flag === 't') {
        const v = value(flag === 'h' ? 'host name' : flag === 'p' ? 'tcp port number' : 'timeout');
        if (v === undefined) return usage(USAGE);
        if (flag === 'h') host = v;
        else if (flag === 'p') port = atoi(v);
        else timeout = atoi(v);
      } else {
        process.stderr.write(`Unknown flag: ${flag}\n`);
        return usage(USAGE);
      }
    }
  }
  const specs = argv.length > i ? argv.slice(i) : ['*.*.*'];
  const searches: Search[] = [];
  for (const spec of specs) {
    if (verbose) process.stderr.write(`looking for ${spec}\n`);
    const m = /^([^.]+)\.([^.]+)\.([^.]+)/.exec(spec);
    if (!m) {
      process.stderr.write(`Unknown format for property spec: ${spec}\n`);
      return usage(USAGE);
    }
    const [, d, p, e] = m;
    searches.push({ d, p, e, wc: d[0] === '*' || p[0] === '*' || e[0] === '*', ok: false });
  }
  const onematch = searches.length === 1 && !searches[0].wc;
  const defs = monitor ? [...DEFS, ...SETS] : DEFS;
  const out: string[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(out.splice(0).join(''));
  };

  const findEle = (root: WireElement, dev: string, nam: string, s: Search, session: ToolSession): void => {
    const printValue = (key: string, value: string): void => {
      out.push(onematch && justvalue ? `${value}\n` : `${dev}.${nam}.${key}=${value}\n`);
      s.ok = true;
    };
    const attr = KEYWORDS[s.e];
    if (attr !== undefined) {
      const v = root[attr];
      printValue(s.e, v == null ? '' : String(v));
      return;
    }
    for (const m of root.members ?? []) {
      if (s.e[0] !== '*' && m.name !== s.e) continue;
      if (root.tag === 'setBLOBVector') {
        s.ok = true;
        if (!saveBLOB(dev, nam, m, verbose)) {
          session.exit(2);
          return;
        }
      } else printValue(m.name, m.value ?? '');
      if (onematch) return;
    }
  };
  const findDPE = (root: WireElement, session: ToolSession): void => {
    if (!defs.includes(root.tag)) return;
    const dev = root.device ?? '';
    const nam = root.name ?? '';
    for (const s of searches) {
      if ((s.d[0] !== '*' && dev !== s.d) || (s.p[0] !== '*' && nam !== s.p)) continue;
      const perm = root.perm ?? '';
      if (!wflag && perm && !perm.includes('r')) {
        if (verbose) process.stderr.write(`${dev}.${nam} is write-only\n`);
        continue;
      }
      if (root.tag === 'defBLOBVector') {
        if (verbose) process.stderr.write(`sending enableBLOB ${dev}.${nam}\n`);
        session.link?.send({ tag: 'enableBLOB', device: dev, name: nam, value: 'Also' });
      } else findEle(root, dev, nam, s, session);
      if (session.done || onematch) return;
      if (root.tag.startsWith('def')) session.alarm();
    }
  };
  return runTool({
    host,
    port,
    timeout,
    verbose: verbose > 0,
    server: `${host}/${port}`,
    flush,
    onAlarm: (session) => {
      flush();
      for (const s of searches) if (!s.ok) process.stderr.write(`No ${s.d}.${s.p}.${s.e} from ${host}:${port}\n`);
      session.exit(searches.some((s) => !s.ok) ? 1 : 0);
    },
    onElement: (root, session) => {
      findDPE(root, session);
      if (!session.done && !monitor && searches.every((s) => !s.wc && s.ok)) session.exit(0);
    },
    onConnect: (link, session) => {
      // One device for every query: ask for that device only.
      const devices = new Set(searches.map((s) => s.d));
      const onedev = devices.size === 1 && !searches[0].d.startsWith('*') ? searches[0].d : undefined;
      link.send({ tag: 'getProperties', version: '1.7', device: onedev });
      if (verbose) process.stderr.write(`Queried properties from ${onedev ?? '*'}\n`);
      session.alarm();
    },
  });
}

/** Saves a BLOB as `device.property.element.format` (`.z`: inflated, suffix dropped). */
function saveBLOB(dev: string, nam: string, m: WireMember, verbose: number): boolean {
  const format = m.format ?? '';
  if (verbose) process.stderr.write(`${dev}.${nam}.${m.name} reports uncompressed size as ${m.size ?? 0}\n`);
  let data = m.blob ?? Buffer.alloc(0);
  const z = format.endsWith('.z');
  if (z) {
    try {
      data = inflateSync(data);
    } catch (error) {
      process.stderr.write(`${dev}.${nam}.${m.name} uncompress error ${(error as Error).message}\n`);
      return false;
    }
  }
  const fn = `${dev}.${nam}.${m.name}${z ? format.slice(0, -2) : format}`;
  try {
    writeFileSync(fn, data);
    if (verbose) process.stderr.write(`Wrote ${fn}\n`);
  } catch (error) {
    process.stderr.write(`${fn}: ${(error as Error).message}\n`);
  }
  return true;
}
