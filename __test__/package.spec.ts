// The installed package without its native addon: what a user sees when npm skipped the
// platform package, or on a platform with none.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, ROOT, run, tempDir } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

describe('package without the native addon', () => {
  // A copy of the package outside the repository: no .node file, no node_modules above it.
  const dir = tempDir('indi-node-noaddon-');
  beforeAll(() => {
    cpSync(DIST, join(dir.path, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir.path, 'package.json'));
    cpSync(join(ROOT, 'binding.cjs'), join(dir.path, 'binding.cjs'));
  });
  afterAll(() => dir.remove());

  it('indi-node --help and --version work', async () => {
    const help = await run(process.execPath, [join(dir.path, 'dist/cli.js'), '--help']);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: indi-node serve \[options\] driver/);
    const serveHelp = await run(process.execPath, [join(dir.path, 'dist/cli.js'), 'serve', '--help']);
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toBe(help.stdout);
    const version = await run(process.execPath, [join(dir.path, 'dist/cli.js'), '--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`${pkg.name} ${pkg.version}\n`);
  });

  it('importing the API names the platform package to install', async () => {
    const arch = process.arch;
    const result = await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(dir.path, 'dist/index.js'))})`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${pkg.name}: cannot load the native addon for linux-${arch}-gnu. It comes in the package ${pkg.name}-linux-${arch}-gnu,`);
    expect(result.stderr).toContain(`npm install ${pkg.name}-linux-${arch}-gnu@${pkg.version}`);
  });

  it('an installed platform package whose addon fails to load is named as such', async () => {
    const platformPackage = `${pkg.name}-linux-${process.arch}-gnu`;
    const installed = join(dir.path, 'node_modules', platformPackage);
    mkdirSync(installed, { recursive: true });
    const file = `${pkg.name}.linux-${process.arch}-gnu.node`;
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: platformPackage, version: pkg.version, main: file }));
    writeFileSync(join(installed, file), 'not an ELF object');
    try {
      const result = await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(dir.path, 'dist/index.js'))})`]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`${pkg.name}: ${platformPackage} is installed but its addon failed to load`);
    } finally {
      rmSync(join(dir.path, 'node_modules'), { recursive: true, force: true });
    }
  });

  it('on a platform without a prebuilt addon, says it is unsupported', async () => {
    const preload = join(dir.path, 'riscv.mjs');
    writeFileSync(preload, "Object.defineProperty(process, 'arch', { value: 'riscv64' });\n");
    const result = await run(process.execPath, [
      '--import',
      preload,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(join(dir.path, 'dist/index.js'))})`,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${pkg.name}: linux-riscv64-gnu is not a supported platform (prebuilt addons: linux-x64-gnu, linux-arm64-gnu)`);
  });
});
