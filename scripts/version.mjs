// `npm version` lifecycle (after `napi version` set npm/*/package.json): names the CHANGELOG's
// Unreleased section after the new version and keeps pinned optionalDependencies (written by
// `napi prepublish` at the last release) at the same version.
import { readFileSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const changelog = readFileSync('CHANGELOG.md', 'utf8');
if (!changelog.includes('\n## Unreleased\n')) {
  console.error('CHANGELOG.md has no "## Unreleased" section to release');
  process.exit(1);
}
const today = new Date().toISOString().slice(0, 10);
writeFileSync('CHANGELOG.md', changelog.replace('\n## Unreleased\n', `\n## Unreleased\n\n## ${pkg.version} - ${today}\n`));
if (pkg.optionalDependencies) {
  for (const name of Object.keys(pkg.optionalDependencies)) {
    if (name.startsWith(`${pkg.name}-`)) pkg.optionalDependencies[name] = pkg.version;
  }
  writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
}
console.log(`CHANGELOG.md: ## ${pkg.version} - ${today}`);
