// libindi 1.9.9's expression compiler of evalINDI (tools/compiler.c), ported as it is: same
// grammar, precedences, functions and error messages, so `indi-node eval` accepts and refuses
// what indi_eval does.

// Opcodes and tokens, numbered as compiler.c numbers them (precedence is indexed by them).
const [HALT, ADD, SUB, MULT, DIV, AND, OR, GT, GE, EQ, NE, LT, LE, NEG, NOT, CONST, VAR] = Array.from({ length: 17 }, (_, i) => i);
const FUNCS1 = ['abs', 'floor', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'degrad', 'raddeg', 'log', 'log10', 'exp', 'sqrt'] as const;
const [PITOK, POW, ATAN2] = [100, 101, 102];
const FUNC_BASE = 200;
const LPAREN = 255;
const RPAREN = 254;
const COMMA = 253;
const PRECEDENCE = [0, 5, 5, 6, 6, 2, 1, 4, 4, 3, 3, 4, 4];
const UNI_PREC = 7;
const MAX_PROG = 32;
const MAX_STACK = 32;
const MAX_OPX = 64;
const MAXFLDLEN = 64;
// Longer names first, as compiler.c's symbol table orders them.
const SYMBOLS: [string, number][] = [
  ['abs', 0],
  ['floor', 1],
  ['acos', 6],
  ['asin', 5],
  ['atan2', ATAN2],
  ['atan', 7],
  ['cos', 3],
  ['degrad', 8],
  ['exp', 12],
  ['log10', 11],
  ['log', 10],
  ['pi', PITOK],
  ['pow', POW],
  ['raddeg', 9],
  ['sin', 2],
  ['sqrt', 13],
  ['tan', 4],
].map(([name, tok]) => [name as string, typeof tok === 'number' && tok < 100 ? FUNC_BASE + tok : (tok as number)]);

/** Instruction: opcode, with the index of its constant or operand. */
interface Instr {
  op: number;
  index?: number;
}

class CompileError extends Error {}

/** A compiled expression over INDI operands (`"device.property.element"`). */
export class Expression {
  /** Operand names in order of appearance (repeats included, as compiler.c keeps them). */
  readonly operands: { name: string; set: boolean; v: number }[] = [];
  private readonly consts: number[] = [];
  private readonly program: Instr[] = [];
  private pos = 0;
  private last = 0;
  private parens = 0;

  /** Compiles `text`; throws with compiler.c's message (`Syntax error near \`...'`). */
  constructor(private readonly text: string) {
    try {
      this.compile(0);
    } catch (error) {
      if (!(error instanceof CompileError)) throw error;
      throw new Error(`${error.message} near \`${this.text.slice(this.last, this.last + 10)}'`);
    }
    if (this.program.length === 0) throw new Error('Null program');
    this.program.push({ op: HALT });
  }

  /** Sets every operand named `name`; false when none is. */
  set(name: string, value: number): boolean {
    let found = false;
    for (const operand of this.operands) {
      if (operand.name !== name) continue;
      operand.v = value;
      operand.set = true;
      found = true;
      // setOperand stops at the first; compiler_log sets all: the first decides `found`.
      break;
    }
    return found;
  }

  /** Whether every operand has a value. */
  get allSet(): boolean {
    return this.operands.every((o) => o.set);
  }

  private fail(message: string): never {
    throw new CompileError(message);
  }

  private nextToken(): number {
    const s = this.text;
    while (/\s/.test(s[this.pos] ?? '')) this.pos++;
    this.last = this.pos;
    const c = s[this.pos++] ?? '';
    const two = (second: string, tok: number, otherwise: number | null): number => {
      if (s[this.pos] === second) {
        this.pos++;
        return tok;
      }
      return otherwise ?? this.fail('Illegal operator');
    };
    switch (c) {
      case ',':
        return COMMA;
      case '':
        this.pos--;
        return HALT;
      case '+':
        return ADD;
      case '-':
        return SUB;
      case '*':
        return MULT;
      case '/':
        return DIV;
      case '(':
        this.parens++;
        return LPAREN;
      case ')':
        if (--this.parens < 0) this.fail('Too many right parens');
        return RPAREN;
      case '|':
        return two('|', OR, null);
      case '&':
        return two('&', AND, null);
      case '=':
        return two('=', EQ, null);
      case '!':
        return two('=', NE, NOT);
      case '<':
        return two('=', LE, LT);
      case '>':
        return two('=', GE, GT);
    }
    if (/[0-9.]/.test(c)) {
      if (this.consts.length > MAX_OPX) this.fail(`More than ${MAX_OPX} constants`);
      this.consts.push(atof(s.slice(this.last)));
      this.skipDouble();
      return CONST | ((this.consts.length - 1) << 8);
    }
    if (/[A-Za-z]/.test(c)) {
      for (const [name, tok] of SYMBOLS) {
        if (s.startsWith(name, this.last)) {
          this.pos += name.length - 1;
          return tok;
        }
      }
      this.fail('Bad function');
    }
    if (c === '"') {
      if (this.operands.length > MAX_OPX) this.fail(`More than ${MAX_OPX} variables`);
      const end = s.indexOf('"', this.last + 1);
      const name = end < 0 ? '' : s.slice(this.last + 1, end);
      if (end < 0 || name.length > MAXFLDLEN - 2 || name.includes('\0') || name.split('.').length !== 3) this.fail('Bad field');
      this.pos = end + 1;
      this.operands.push({ name, set: false, v: 0 });
      return VAR | ((this.operands.length - 1) << 8);
    }
    return this.fail('Syntax error');
  }

  private skipDouble(): void {
    let sawe = false;
    for (;;) {
      const c = this.text[this.pos] ?? '';
      if (/[0-9.]/.test(c) || (sawe && (c === '-' || c === '+'))) sawe = false;
      else if (c === 'e') sawe = true;
      else break;
      this.pos++;
    }
  }

  private emit(op: number): void {
    this.program.push({ op });
  }

  private push(tok: number): void {
    const op = tok & 0xff;
    this.program.push(op === CONST || op === VAR ? { op, index: tok >> 8 } : { op: tok });
  }

  private compile(prec: number): number {
    let expectBinop = false;
    let tok = this.nextToken();
    for (;;) {
      if (this.program.length >= MAX_PROG) this.fail('Program is too long');
      const op = tok & 0xff;
      if (tok === COMMA || tok === HALT) return tok;
      if (tok === RPAREN) return RPAREN;
      if (tok === ADD && !expectBinop) {
        tok = this.nextToken();
        if (tok === HALT) this.fail('Term expected after unary +');
        continue;
      }
      if ((tok === SUB && !expectBinop) || tok === NOT) {
        const before = this.program.length;
        const unary = tok;
        tok = this.compile(UNI_PREC);
        if (before === this.program.length) this.fail(`Term expected after unary ${unary === SUB ? '-' : '!'}`);
        this.emit(unary === SUB ? NEG : NOT);
        expectBinop = true;
        continue;
      }
      if (tok >= FUNC_BASE && tok < FUNC_BASE + FUNCS1.length) {
        if (this.nextToken() !== LPAREN) this.fail("expecting '(' after function");
        const before = this.program.length;
        if (this.compile(0) !== RPAREN || before === this.program.length) this.fail('1-arg function arglist error');
        this.emit(tok);
        tok = this.nextToken();
        expectBinop = true;
        continue;
      }
      if (tok === POW || tok === ATAN2) {
        if (this.nextToken() !== LPAREN) this.fail('Saw a built-in function: expecting (');
        let before = this.program.length;
        if (this.compile(0) !== COMMA || before === this.program.length) this.fail('1st of 2-arg function arglist error');
        before = this.program.length;
        if (this.compile(0) !== RPAREN || before === this.program.length) this.fail('2nd of 2-arg function arglist error');
        this.emit(tok);
        tok = this.nextToken();
        expectBinop = true;
        continue;
      }
      if (op === CONST || op === VAR || tok === PITOK) {
        this.push(tok);
        tok = this.nextToken();
        expectBinop = true;
        continue;
      }
      if (tok === LPAREN) {
        const before = this.program.length;
        if (this.compile(0) !== RPAREN) this.fail('Unmatched left paren');
        if (before === this.program.length) this.fail('Null expression');
        tok = this.nextToken();
        expectBinop = true;
        continue;
      }
      // A binary operator (NOT after an operand is one in compiler.c too, and aborts there).
      if (tok < ADD || tok > LE) this.fail('Syntax error');
      const p = PRECEDENCE[tok];
      if (p <= prec) return tok;
      const before = this.program.length;
      const next = this.compile(p);
      if (before === this.program.length) this.fail('Term or factor expected');
      this.emit(tok);
      expectBinop = true;
      tok = next;
    }
  }

  /** Evaluates with the operands' last values; throws with compiler.c's runtime messages. */
  evaluate(): number {
    const stack: number[] = [];
    const binary = (f: (a: number, b: number) => number): void => {
      const b = stack.pop()!;
      const a = stack.pop()!;
      stack.push(f(a, b));
    };
    const unary = (f: (a: number) => number): void => void stack.push(f(stack.pop()!));
    const truth = (x: boolean): number => (x ? 1 : 0);
    for (const { op, index } of this.program) {
      if (op === HALT) break;
      if (op >= FUNC_BASE && op < FUNC_BASE + FUNCS1.length) unary(FUNCTIONS[FUNCS1[op - FUNC_BASE]]);
      else
        switch (op) {
          case ADD:
            binary((a, b) => a + b);
            break;
          case SUB:
            binary((a, b) => a - b);
            break;
          case MULT:
            binary((a, b) => a * b);
            break;
          case DIV:
            binary((a, b) => a / b);
            break;
          case AND:
            binary((a, b) => truth(a !== 0 && b !== 0));
            break;
          case OR:
            binary((a, b) => truth(a !== 0 || b !== 0));
            break;
          case GT:
            binary((a, b) => truth(a > b));
            break;
          case GE:
            binary((a, b) => truth(a >= b));
            break;
          case EQ:
            binary((a, b) => truth(a === b));
            break;
          case NE:
            binary((a, b) => truth(a !== b));
            break;
          case LT:
            binary((a, b) => truth(a < b));
            break;
          case LE:
            binary((a, b) => truth(a <= b));
            break;
          case NEG:
            unary((a) => -a);
            break;
          case NOT:
            unary((a) => truth(a === 0));
            break;
          case CONST:
            stack.push(this.consts[index!]);
            break;
          case VAR:
            stack.push(this.operands[index!].v);
            break;
          case PITOK:
            stack.push(4 * Math.atan(1));
            break;
          case POW:
            binary(Math.pow);
            break;
          case ATAN2:
            binary(Math.atan2);
            break;
        }
      if (stack.length > MAX_STACK) throw new Error('Runtime stack overflow');
    }
    if (stack.length !== 1) throw new Error(`Bug! stack has ${stack.length} items`);
    return stack[0];
  }
}

const FUNCTIONS: Record<(typeof FUNCS1)[number], (x: number) => number> = {
  abs: Math.abs,
  floor: Math.floor,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  degrad: (x) => x * (Math.atan(1) / 45),
  raddeg: (x) => x * (45 / Math.atan(1)),
  log: Math.log,
  log10: Math.log10,
  exp: Math.exp,
  sqrt: Math.sqrt,
};

/** C's `atof`: the longest decimal prefix (after blanks), 0 when there is none. */
export function atof(text: string): number {
  const m = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(text);
  if (m) return Number(m[0]);
  const special = /^\s*([-+]?)(inf(?:inity)?|nan)/i.exec(text);
  if (!special) return 0;
  const value = special[2].toLowerCase().startsWith('nan') ? Number.NaN : Number.POSITIVE_INFINITY;
  return special[1] === '-' ? -value : value;
}
