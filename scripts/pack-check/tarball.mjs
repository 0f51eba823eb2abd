// Checks the packed main package: its manifest as published (optionalDependencies pinned to its
// own version, bin, repository fields), what it ships (no .node, no internal declarations, LICENSE
// and CHANGELOG) and that its public .d.ts and source maps stand on their own.
// Usage: node tarball.mjs MAIN.tgz DIR (DIR receives the unpacked copy).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [tgz, dir] = process.argv.slice(2);
const root = join(dir, 'unpacked');
mkdirSync(root, { recursive: true });
execFileSync('tar', ['xzf', tgz, '-C', root]);
const pkgDir = join(root, 'package');
const problems = [];
const check = (ok, message) => ok || problems.push(message);

const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const want = { [`${pkg.name}-linux-x64-gnu`]: pkg.version, [`${pkg.name}-linux-arm64-gnu`]: pkg.version };
check(
  JSON.stringify(pkg.optionalDependencies) === JSON.stringify(want),
  `optionalDependencies ${JSON.stringify(pkg.optionalDependencies)}, want ${JSON.stringify(want)}`,
);
check(pkg.bin?.[pkg.name] === 'dist/cli.js', `bin ${JSON.stringify(pkg.bin)}`);
for (const field of ['repository', 'bugs', 'homepage', 'license']) check(pkg[field] !== undefined, `no ${field} field`);

const files = [];
const walk = (d) =>
  readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(relative(pkgDir, join(d, e.name)))));
walk(pkgDir);
for (const name of ['LICENSE', 'README.md', 'CHANGELOG.md', 'dist/index.d.ts', 'dist/cli.js']) check(files.includes(name), `${name} not shipped`);
check(!files.some((f) => f.endsWith('.node')), 'a .node file is shipped in the main package');
for (const name of ['dist/cli.d.ts', 'dist/native.d.ts', 'dist/stdout.d.ts']) check(!files.includes(name), `${name} is shipped`);

const dts = files.filter((f) => f.endsWith('.d.ts'));
for (const f of dts) {
  const text = readFileSync(join(pkgDir, f), 'utf8');
  for (const word of ['WireElement', 'WireMember', '@internal', 'binding.cjs']) check(!text.includes(word), `${f} mentions ${word}`);
  for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) {
    check(existsSync(join(pkgDir, dirname(f), spec.replace(/\.js$/, '.d.ts'))), `${f} imports ${spec}, which is not shipped`);
  }
}
const maps = files.filter((f) => f.endsWith('.map'));
for (const f of maps) {
  const map = JSON.parse(readFileSync(join(pkgDir, f), 'utf8'));
  check(map.sourcesContent?.length === map.sources.length && map.sourcesContent.every((s) => typeof s === 'string'), `${f} has no sourcesContent`);
}
if (problems.length > 0) {
  console.error(`${tgz}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `${pkg.name}@${pkg.version} tarball: ${files.length} files, optionalDependencies ${Object.entries(pkg.optionalDependencies)
    .map(([n, v]) => `${n}@${v}`)
    .join(' ')}, bin ${pkg.bin[pkg.name]}; ${dts.length} .d.ts without internal types, ${maps.length} source maps with their sources; no .node`,
);
