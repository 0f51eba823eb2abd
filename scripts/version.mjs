// `npm version` lifecycle (after `napi version` set npm/*/package.json): names the CHANGELOG's
// Unreleased section after the new version, keeping an empty Unreleased section above it.
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const changelog = readFileSync('CHANGELOG.md', 'utf8');
if (!changelog.includes('\n## Unreleased\n')) {
  console.error('CHANGELOG.md has no "## Unreleased" section to release');
  process.exit(1);
}
const today = new Date().toISOString().slice(0, 10);
writeFileSync('CHANGELOG.md', changelog.replace('\n## Unreleased\n', `\n## Unreleased\n\n## ${version} - ${today}\n`));
console.log(`CHANGELOG.md: ## ${version} - ${today}`);
