// indipydriver's example 3: a window that snoops on the thermostat's temperature and closes
// below 18 degrees, opens above 21. Run it beside the thermostat under one INDI server.
import { setTimeout as sleep } from 'node:timers/promises';
import { Device, IPyDriver, SetNumberVector, TextMember, TextVector, type SnoopEvent } from 'indi-node';
import { exampleArgs, isMain, runExample } from './run.js';

class WindowDriver extends IPyDriver {
  override async hardware() {
    const interval = this.driverdata.interval as number;
    const status = this.get('Window')!.get('windowstatus') as TextVector;
    this.snoop('Thermostat', 'temperaturevector');
    while (!this.stop) {
      await sleep(interval * 1000, undefined, { signal: this.signal }).catch(() => undefined);
      if (this.stop) break;
      status.set('status', this.driverdata.window as string);
      await status.sendSetVector({ allvalues: false });
    }
  }

  override async snoopevent(event: SnoopEvent) {
    if (event instanceof SetNumberVector && event.devicename === 'Thermostat'
        && event.vectorname === 'temperaturevector' && event.has('temperature')) {
      const temperature = event.getFloatValue('temperature');
      if (temperature > 21) this.driverdata.window = 'Open';
      if (temperature < 18) this.driverdata.window = 'Closed';
    }
  }
}

/** The example's driver (`indi-node serve dist/examples/window.js` serves it). */
export default function makeDriver(interval = 10): WindowDriver {
  const windowstatus = new TextVector({ name: 'windowstatus', label: 'Window Status', group: 'Values', perm: 'ro', state: 'Ok',
    members: [new TextMember({ name: 'status', label: 'Window position', membervalue: 'Open' })] });
  return new WindowDriver([new Device('Window', [windowstatus])], { window: 'Open', interval });
}

if (isMain(import.meta)) {
  const args = exampleArgs();
  await runExample(makeDriver(args.interval), args);
}
