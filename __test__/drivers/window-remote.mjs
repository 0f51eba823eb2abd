#!/usr/bin/env node
// The snooping window example on its own server, linked to the thermostat's server with
// addRemote. Usage: window-remote.mjs PORT REMOTE_PORT INTERVAL
import { IPyServer } from '../../dist/index.js';
import makeWindow from '../../dist/examples/window.js';

const [port, remotePort, interval] = process.argv.slice(2).map(Number);
const server = new IPyServer([makeWindow(interval)], { host: '127.0.0.1', port });
server.addRemote('127.0.0.1', remotePort);
process.once('SIGTERM', () => server.shutdown());
await server.run();
