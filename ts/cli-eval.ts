// `indi-node eval`: libindi 1.9.9's indi_eval (tools/evalINDI.c): same flags, expressions,
// messages (all on stderr) and exit status (0 true, 1 false, 2 trouble; usage 1).
import { atoi, runTool, type ToolSession } from './cli-link.js';
import { atof, Expression } from './cli-eval-expr.js';
import type { WireElement } from './native.js';

const USAGE = `Usage: indi-node eval [options] [exp]
Purpose: evaluate an expression of INDI operands
Options:
   -b   : beep when expression evaluates as true
   -e   : print each updated expression value
   -f   : print final expression value
   -h h : alternate host, default is localhost
   -i   : read expression from stdin
   -o   : print operands as they change
   -p p : alternate port, default is 7624
   -t t : max secs to wait, 0 is forever, default is 2
   -v   : verbose (cummulative)
   -w   : wait for expression to evaluate as true
[exp] is an arith expression built from the following operators and functons:
     ! + - * / && || > >= == != < <=
     pi sin(rad) cos(rad) tan(rad) asin(x) acos(x) atan(x) atan2(y,x) abs(x)
     degrad(deg) raddeg(rad) floor(x) log(x) log10(x) exp(x) sqrt(x) pow(x,exp)
   operands are of the form "device.name.element" (including quotes), where
   element may be:
     _STATE evaluated to 0,1,2,3 from Idle,Ok,Busy,Alert.
     _TS evaluated to UNIX seconds from epoch.
   Switch vectors are evaluated to 0,1 from Off,On.
   Light vectors are evaluated to 0-3 as per _STATE.
Examples:
   To print 0/1 whether Security.Doors.Front or .Rear are in Alert:
     indi-node eval -f '"Security.Doors.Front"==3 || "Security.Doors.Rear"==3'
   To exit 0 if the Security property as a whole is in a state of Ok:
     indi-node eval '"Security.Security._STATE"==1'
   To wait for RA and Dec to be near zero and watch their values as they change:
     indi-node eval -t 0 -wo 'abs("Mount.EqJ2K.RA")<.01 && abs("Mount.EqJ2K.Dec")<.01'
Exit 0 if expression evaluates to non-0, 1 if 0, else 2
`;

const usage = (): number => {
  process.stderr.write(USAGE);
  return 1;
};

/** 0, 1, 2, 3 for Idle, Ok, Busy and anything else, as evalINDI's pstatestr. */
const stateNumber = (state: string): number => (state === 'Idle' ? 0 : state.startsWith('Ok') ? 1 : state === 'Busy' ? 2 : 3);

/** evalINDI's timestampINDI: local time (mktime) of `YYYY-MM-DDTHH:MM:SS`, else -1. */
function unixTime(ts: string): number {
  const m = /^\s*([-+]?\d+)-([-+]?\d+)-([-+]?\d+)T([-+]?\d+):([-+]?\d+):([-+]?\d+)/.exec(ts);
  if (!m) return -1;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return Math.floor(new Date(y, mo - 1, d, h, mi, s).getTime() / 1000);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Runs `eval` with `argv` (after the command name); resolves with the exit status. */
export async function evaluate(argv: string[]): Promise<number> {
  const { native } = await import('./native.js');
  const g = (v: number): string => native.formatNumber('%g', v);
  let host = 'localhost';
  let port = 7624;
  let timeout = 2;
  const flags = { b: 0, e: 0, f: 0, o: 0, v: 0, w: 0, i: 0 };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    for (const flag of argv[i].slice(1)) {
      if (flag in flags) flags[flag as keyof typeof flags]++;
      else if (flag === 'h' || flag === 'p' || flag === 't') {
        if (i + 1 >= argv.length) {
          process.stderr.write(`-${flag} requires ${flag === 'h' ? 'host name' : flag === 'p' ? 'tcp port number' : 'timeout'}\n`);
          return usage();
        }
        const v = argv[++i];
        if (flag === 'h') host = v;
        else if (flag === 'p') port = atoi(v);
        else timeout = atoi(v);
      } else {
        process.stderr.write(`Unknown flag: ${flag}\n`);
        return usage();
      }
    }
  }
  const rest = argv.slice(i);
  if (rest.length > 1) return usage();
  const text = rest.length === 1 ? rest[0] : await readStdin();
  if (flags.v) process.stderr.write(`Compiling: ${text}\n`);
  let expr: Expression;
  try {
    expr = new Expression(text);
  } catch (error) {
    process.stderr.write(`Compile err: ${(error as Error).message}\n`);
    return 2;
  }

  let phase: 'init' | 'wait' = 'init';
  const set = (prop: string, v: number): number => {
    if (!expr.set(prop, v)) return 0;
    if (flags.o) process.stderr.write(`${prop}=${g(v)}\n`);
    return 1;
  };
  /** evalINDI's setOp: true when the element set an operand. */
  const setOp = (root: WireElement): boolean => {
    const kind = /^(?:def|set)(Number|Switch|Light)Vector$/.exec(root.tag)?.[1];
    const d = root.device ?? '';
    const n = root.name ?? '';
    let nset = 0;
    for (const m of kind ? (root.members ?? []) : []) {
      const text = m.value ?? '';
      const v = kind === 'Number' ? atof(text) : kind === 'Switch' ? Number(text.startsWith('On')) : stateNumber(text);
      nset += set(`${d}.${n}.${m.name}`, v);
    }
    if (root.state) nset += set(`${d}.${n}._STATE`, stateNumber(root.state));
    if (root.timestamp) nset += set(`${d}.${n}._TS`, unixTime(root.timestamp));
    return nset > 0;
  };
  /** evalINDI's runEval, from the first evaluation to the exit. */
  const run = (session: ToolSession): void => {
    let v: number;
    try {
      v = expr.evaluate();
    } catch (error) {
      process.stderr.write(`Eval: ${(error as Error).message}\n`);
      session.exit(2);
      return;
    }
    if (flags.b && v) process.stderr.write('\x07');
    if (flags.e) process.stderr.write(`${g(v)}\n`);
    if (!flags.w || v !== 0) {
      if (!flags.e && flags.f) process.stderr.write(`${g(v)}\n`);
      session.exit(v === 0 ? 1 : 0);
      return;
    }
    phase = 'wait';
  };
  return runTool({
    host,
    port,
    timeout,
    verbose: flags.v > 0,
    server: `${host}/${port}`,
    onAlarm: (session) => {
      const unset = expr.operands.filter((o) => !o.set).map((o) => o.name);
      if (unset.length > 0)
        process.stderr.write(
          `No values seen for${unset
            .reverse()
            .map((n) => ` ${n}`)
            .join('')}\n`,
        );
      else process.stderr.write('Timed out waiting for new values\n');
      session.exit(2);
    },
    onElement: (root, session) => {
      if (!setOp(root)) return;
      session.alarm();
      if (phase === 'wait' || expr.allSet) run(session);
    },
    onConnect: (link, session) => {
      const devices = [...new Set(expr.operands.map((o) => o.name.slice(0, o.name.indexOf('.'))))];
      for (const device of devices) {
        if (flags.v) process.stderr.write(`sending getProperties for ${device}\n`);
        link.send({ tag: 'getProperties', version: '1.7', device });
      }
      session.alarm();
      if (expr.allSet) run(session);
    },
  });
}
