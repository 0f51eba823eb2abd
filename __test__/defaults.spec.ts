// One source of defaults: the TypeScript side's (which the CLI's help needs without the addon)
// are the Rust core's, and the help text is generated from them; remote arguments are parsed by
// the core alone.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../ts/defaults.js';
import { native } from '../ts/native.js';
import { DIST, run } from './helpers.js';

describe('defaults', () => {
  it('are the same on both sides of the addon', () => {
    const core = native.serverDefaults();
    expect(core).toEqual({
      port: DEFAULTS.port,
      blobDropMb: DEFAULTS.blobDropMb,
      maxQueueMb: DEFAULTS.maxQueueMb,
      maxRestarts: DEFAULTS.maxRestarts,
      maxMessage: DEFAULTS.maxMessage,
      unixSocket: DEFAULTS.unixSocket,
    });
  });

  it('are what indi-node serve --help says', async () => {
    const help = (await run(process.execPath, [join(DIST, 'cli.js'), '--help'])).stdout;
    expect(help).toContain(`-m m   : kill client if gets more than this many MB behind, default ${DEFAULTS.maxQueueMb}\n`);
    expect(help).toContain(`behind, default ${DEFAULTS.blobDropMb}. 0 to disable\n`);
    expect(help).toContain(`-p p   : alternate IP port, default ${DEFAULTS.port}\n`);
    expect(help).toContain(`-u path: alternate local socket path, default ${DEFAULTS.unixSocket}\n`);
    expect(help).toContain(`-r r   : maximum driver restarts on error, default ${DEFAULTS.maxRestarts}\n`);
    expect(help).toContain(`refuse clients beyond n, default ${DEFAULTS.serveMaxconnections}\n`);
    expect(help).toContain(`largest element accepted, default ${DEFAULTS.maxMessage}\n`);
  });

  it('remote arguments are parsed by the core', () => {
    expect(native.parseRemote('Telescope Simulator@127.0.0.1:7625')).toEqual({ device: 'Telescope Simulator', host: '127.0.0.1', port: 7625 });
    expect(native.parseRemote('@observatory.local')).toEqual({ host: 'observatory.local', port: DEFAULTS.port });
    expect(native.parseRemote('indi_simulator_ccd')).toBeNull();
    expect(native.parseRemote('CCD@host:notaport')).toBeNull();
  });
});
