// Shared by the examples that simulate time: `--interval S` sets the simulated step in seconds.
// Everything else on the command line (`--stdio`, `--host`, `--port`) is `runDriver`'s.
import { parseArgs } from 'node:util';

/** The `--interval` argument in seconds, or `fallback`. */
export function intervalArg(fallback: number): number {
  const { values } = parseArgs({ strict: false, options: { interval: { type: 'string' } } });
  if (values.interval === undefined) return fallback;
  const interval = Number(values.interval);
  if (!(interval > 0)) {
    console.error(`invalid --interval ${String(values.interval)}`);
    process.exit(2);
  }
  return interval;
}
