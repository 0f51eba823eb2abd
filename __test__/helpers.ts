// Shared test plumbing: real peers, free ports, processes stopped by PID, bounded waits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

/** True when `command` is on PATH. */
export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/**
 * Whether tests needing `commands` can run. In CI a missing peer is an error, never a skip;
 * elsewhere the suite is skipped with a note.
 */
export function peersAvailable(...commands: string[]): boolean {
  const missing = commands.filter((c) => !has(c));
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`interop peers missing in CI: ${missing.join(', ')} (install indi-bin)`);
  console.warn(`skipping interop tests: ${missing.join(', ')} not installed`);
  return false;
}

/** A TCP port nobody listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port (bounded by `ms`). */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A started process with its collected output. */
export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** Starts a process (tracked: `stopAll()` kills what is still running, by PID). */
export function start(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((done) => {
    child.once('exit', (code) => {
      started.delete(child);
      // Its last output may still be in the pipes: wait for them to close (bounded, in case a
      // process it started holds them open).
      const timer = setTimeout(() => done(code), 1000);
      child.once('close', () => {
        clearTimeout(timer);
        done(code);
      });
    });
    child.once('error', () => done(null));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Stops every process started by `start()` that is still running (SIGTERM, then SIGKILL). */
export async function stopAll(): Promise<void> {
  const running = [...started];
  for (const child of running) if (child.pid) process.kill(child.pid, 'SIGTERM');
  await Promise.race([
    Promise.all(running.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))))),
    sleep(3000),
  ]);
  for (const child of started) if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}

/** Runs a command to completion (bounded by `ms`), returning status and output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; ms?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = start(command, args, { cwd: options.cwd, env: options.env });
  const timer = setTimeout(() => proc.child.pid && process.kill(proc.child.pid, 'SIGKILL'), options.ms ?? 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Waits until `check()` holds (polling, bounded by `ms`). */
export async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'indi-node-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An executable shell wrapper (indiserver runs drivers by file name) around `node script args`. */
export function nodeDriver(dir: string, name: string, script: string, args: string[] = ['--stdio']): string {
  const path = join(dir, name);
  const quoted = [process.execPath, script, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  writeFileSync(path, `#!/bin/sh\nexec ${quoted}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Starts Debian's indiserver on a free port with its own unix socket path; resolves when it listens. */
export async function startIndiserver(drivers: string[], extra: string[] = []): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const proc = start('indiserver', ['-p', String(port), '-u', `/tmp/indi-node-test-${port}`, '-r', '0', ...extra, ...drivers]);
  await waitForPort(port);
  return { port, proc };
}

/**
 * Whether Python can import `module` (a PyPI peer). In CI a missing one is an error, never a
 * skip; elsewhere the suite is skipped with a note.
 */
export function pythonModuleAvailable(module: string, install: string): boolean {
  if (spawnSync('python3', ['-c', `import ${module}`]).status === 0) return true;
  if (process.env.CI) throw new Error(`interop peer missing in CI: python3 module ${module} (${install})`);
  console.warn(`skipping interop tests: python3 module ${module} not installed (${install})`);
  return false;
}
