// Imports the installed package's API and calls into the native addon (run inside the test
// project). Prints where the addon was loaded from.
import { createRequire } from 'node:module';
import * as api from 'indi-node';

const require = createRequire(import.meta.url);
const platformPackage = `indi-node-linux-${process.arch}-gnu`;
const addon = require.resolve(platformPackage);
const names = ['IPyDriver', 'IPyServer', 'Device', 'SwitchVector', 'NumberMember', 'LED', 'getfloat'];
const missing = names.filter((name) => typeof api[name] !== 'function');
if (missing.length > 0) throw new Error(`missing exports: ${missing.join(', ')}`);
if (Math.abs(api.getfloat('-10:30:18') + 10.505) > 1e-9) throw new Error('getfloat gave a wrong value');
const led = new api.LED(17);
led.on();
if (!led.isLit || api.simulatedPins.get(17)?.level !== 1) throw new Error('the simulated LED did not light');
led.close();
console.log(`API: ${Object.keys(api).length} exports, GPIO backend ${api.gpioBackend()}, addon from ${addon}`);
