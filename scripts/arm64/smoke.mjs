// Host-side driver of the arm64 smoke test: starts arm64 Node processes under
// qemu-aarch64-static (no binfmt needed) and checks what they do. Bounded waits; every
// process it starts is stopped.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const armNode = process.env.ARM64_NODE;
const root = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set();

function startArm(args, env = {}, cwd = root) {
  const child = spawn('qemu-aarch64-static', [armNode, ...args], { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
  children.add(child);
  const proc = { child, out: '', err: '' };
  child.stdout.on('data', (d) => (proc.out += d));
  child.stderr.on('data', (d) => (proc.err += d));
  proc.exited = new Promise((done) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      done(code ?? signal);
    }),
  );
  return proc;
}

async function until(check, ms, what, proc) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\nstdout: ${proc.out}\nstderr: ${proc.err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exitCode(proc, ms, what) {
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${what} exited with ${code}\nstdout: ${proc.out}\nstderr: ${proc.err}`);
}

async function driver() {
  // The LED example as installed from npm: an indi-node driver on stdin/stdout whose LED is
  // GPIO17 (simulated here), its addon loaded from the indi-node-linux-arm64-gnu package.
  const app = process.env.ARM64_APP;
  const led = startArm(['node_modules/indi-node/dist/examples/led.js', '--stdio'], { INDI_NODE_GPIO: '' }, app);
  led.child.stdin.write('<getProperties version="1.7"/>\n');
  await until(() => led.out.includes('</defSwitchVector>'), 60_000, 'the definition', led);
  if (
    !/^<defSwitchVector device="led" name="ledvector" [^>]*><defSwitch name="ledmember" label="LED Value">Off<\/defSwitch><\/defSwitchVector>$/m.test(led.out)
  ) {
    throw new Error(`unexpected definition: ${led.out}`);
  }
  led.child.stdin.write('<newSwitchVector device="led" name="ledvector"><oneSwitch name="ledmember">On</oneSwitch></newSwitchVector>\n');
  await until(() => led.out.includes('</setSwitchVector>'), 30_000, 'the update', led);
  if (!/<setSwitchVector device="led" name="ledvector"[^>]*><oneSwitch name="ledmember">On<\/oneSwitch><\/setSwitchVector>/.test(led.out)) {
    throw new Error(`unexpected update: ${led.out}`);
  }
  led.child.stdin.end();
  await exitCode(led, 30_000, 'the LED driver');
  console.log('driver ok (installed packages): getProperties answered with defSwitchVector, newSwitchVector with setSwitchVector');
}

async function gpio() {
  // Run inside the installed project (test-arm64.sh copied the script there): from scripts/,
  // 'indi-node' would resolve to the build tree.
  const app = process.env.ARM64_APP;
  const roundTrip = startArm(['gpio-roundtrip.mjs'], { INDI_NODE_GPIO: '' }, app);
  await exitCode(roundTrip, 60_000, 'the GPIO round trip');
  const expected = 'arch arm64, backend simulated\noutput ok\npwm ok\nedges ok\n';
  if (roundTrip.out !== expected) throw new Error(`unexpected GPIO output: ${roundTrip.out}`);
  console.log(`gpio ok: ${roundTrip.out.trim().split('\n').join('; ')}; exited by itself after close()`);

  const rppal = startArm(['-e', "import('indi-node').then((m) => m.gpioBackend()).catch((e) => console.log(e.message))"], { INDI_NODE_GPIO: 'rppal' }, app);
  await exitCode(rppal, 60_000, 'the rppal check');
  if (!rppal.out.includes('no Raspberry Pi GPIO here')) throw new Error(`unexpected rppal answer: ${rppal.out}`);
  console.log(`rppal ok: ${rppal.out.trim()}`);
}

try {
  await Promise.all([driver(), gpio()]);
} finally {
  for (const child of children) child.kill('SIGKILL');
}
