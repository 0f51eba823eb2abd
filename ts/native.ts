// Loads the napi-rs addon through its generated loader (binding.cjs picks the platform's .node).
import { createRequire } from 'node:module';
import type * as Binding from '../binding.cjs';

const require = createRequire(import.meta.url);

/** The Rust core. Internal: the public API is the TypeScript classes. */
export const native: typeof Binding = require('../binding.cjs');

export type { WireElement, WireMember } from '../binding.cjs';
