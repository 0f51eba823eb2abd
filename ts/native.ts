// Loads the napi-rs addon through its generated loader (binding.cjs picks the platform's .node,
// from the package root or from the platform package npm installed as an optional dependency).
import { createRequire } from 'node:module';
import type * as Binding from '../binding.cjs';

const require = createRequire(import.meta.url);

/** `linux-x64-gnu` style name of this platform, as napi-rs names its packages. */
function platformName(): string {
  let name = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    name += header?.glibcVersionRuntime === undefined ? '-musl' : '-gnu';
  }
  return name;
}

const NAPI_ARCH: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64', armv7: 'arm', i686: 'ia32' };

/** Says which platform package is missing, or that there is none for this platform. */
function loadError(cause: unknown): Error {
  const pkg = require('../package.json') as { name: string; version: string; napi: { targets: string[] } };
  const platform = platformName();
  const platformPackage = `${pkg.name}-${platform}`;
  // The Rust triples the platform packages are built for, as napi-rs names them (linux-x64-gnu).
  const published = pkg.napi.targets.map((triple) => {
    const [cpu, , os, abi] = triple.split('-');
    return `${os}-${NAPI_ARCH[cpu] ?? cpu}${abi ? `-${abi}` : ''}`;
  });
  let message = `${pkg.name}: ${platform} is not a supported platform (prebuilt addons: ${published.join(', ')})`;
  if (published.includes(platform)) {
    message = isInstalled(platformPackage)
      ? `${pkg.name}: ${platformPackage} is installed but its addon failed to load (it needs glibc 2.17 or newer); see the cause`
      : `${pkg.name}: cannot load the native addon for ${platform}. It comes in the package ${platformPackage}, ` +
        `which npm installs with ${pkg.name} unless optional dependencies are omitted (--omit=optional) or the ` +
        `lockfile was made on another platform: npm install ${platformPackage}@${pkg.version}`;
  }
  return new Error(message, { cause });
}

function isInstalled(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function load(): typeof Binding {
  try {
    return require('../binding.cjs');
  } catch (error) {
    throw loadError(error);
  }
}

/** The Rust core. Internal: the public API is the TypeScript classes. */
export const native: typeof Binding = load();

export type { NumberRun, WireElement, WireMember } from '../binding.cjs';
