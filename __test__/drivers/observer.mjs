// In-process test driver: device "Observer" snoops on every device, logs each element it
// receives to stderr as `[Observer rx] ...`, and throws in every snoopevent (the driver must go on).
import { Device, IPyDriver, LightMember, LightVector } from '../../dist/index.js';
import { describe } from './target.mjs';

class Observer extends IPyDriver {
  receive(elements) {
    for (const element of elements) process.stderr.write(`[Observer rx] ${describe(element)}\n`);
    super.receive(elements);
  }

  async hardware() {
    await this.sendGetProperties();
  }

  async snoopevent(event) {
    throw new Error(`snoopevent failed on purpose (${event.type})`);
  }
}

export default () => new Observer([new Device('Observer', [new LightVector({ name: 'L', members: [new LightMember({ name: 'l' })] })])]);
