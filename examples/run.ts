// Command line shared by the examples: `--stdio` runs the driver on stdin/stdout (as a child
// of an INDI server such as indiserver); otherwise it is served on TCP (--host, --port).
import { parseArgs } from 'node:util';
import { IPyServer, type IPyDriver } from 'indi-node';

/** Options every example accepts. */
export interface ExampleArgs {
  stdio: boolean;
  host: string;
  port: number;
  /** Seconds between simulated hardware steps (examples that simulate time). */
  interval?: number;
}

export function exampleArgs(): ExampleArgs {
  const { values } = parseArgs({
    options: {
      stdio: { type: 'boolean', default: false },
      host: { type: 'string', default: 'localhost' },
      port: { type: 'string', default: '7624' },
      interval: { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(`invalid --port ${values.port}`);
    process.exit(2);
  }
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  return { stdio: values.stdio ?? false, host: values.host ?? 'localhost', port, interval };
}

/** True when `meta` is the module node was started with (not imported, e.g. by `indi-node serve`). */
export function isMain(meta: ImportMeta): boolean {
  return meta.filename === process.argv[1];
}

/** Runs `driver` as the command line asks: on stdin/stdout, or served on TCP. */
export async function runExample(driver: IPyDriver, args: ExampleArgs = exampleArgs()): Promise<void> {
  if (args.stdio) {
    await driver.run();
    return;
  }
  const server = new IPyServer([driver], { host: args.host, port: args.port });
  process.once('SIGINT', () => server.shutdown());
  process.once('SIGTERM', () => server.shutdown());
  const running = server.run();
  console.error(`serving ${[...driver.keys()].join(', ')} on ${args.host}:${args.port}`);
  await running;
}
