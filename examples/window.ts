// indipydriver's example 3: a window that snoops on the thermostat's temperature and closes
// below 18 degrees, opens above 21. Run it beside the thermostat under one INDI server.
import { Device, IPyDriver, SetNumberVector, TextMember, TextVector, type SnoopEvent, isMainModule, runDriver } from 'indi-node';
import { intervalArg } from './run.js';

class WindowDriver extends IPyDriver<{ window: 'Open' | 'Closed'; interval: number }> {
  override async hardware() {
    const status = this.device('Window').textVector('windowstatus');
    this.snoop('Thermostat', 'temperaturevector');
    while (await this.sleep(this.driverdata.interval * 1000)) {
      status.set('status', this.driverdata.window);
      await status.sendSetVector({ allvalues: false });
    }
  }

  override async snoopevent(event: SnoopEvent) {
    if (event instanceof SetNumberVector && event.devicename === 'Thermostat' && event.vectorname === 'temperaturevector' && event.has('temperature')) {
      const temperature = event.getFloatValue('temperature');
      if (temperature > 21) this.driverdata.window = 'Open';
      if (temperature < 18) this.driverdata.window = 'Closed';
    }
  }
}

/** The example's driver (`indi-node serve dist/examples/window.js` serves it). */
export default function makeDriver(interval = 10): WindowDriver {
  const windowstatus = new TextVector({
    name: 'windowstatus',
    label: 'Window Status',
    group: 'Values',
    perm: 'ro',
    state: 'Ok',
    members: [new TextMember({ name: 'status', label: 'Window position', membervalue: 'Open' })],
  });
  return new WindowDriver([new Device('Window', [windowstatus])], { window: 'Open', interval });
}

if (isMainModule(import.meta)) await runDriver(makeDriver(intervalArg(10)), import.meta);
