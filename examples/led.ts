// The first example of indipydriver's documentation: one switch turns an LED on and off.
// Run it under an INDI server with `--stdio`, e.g. `indiserver ./led-driver` where the
// executable runs `node dist/examples/led.js --stdio`.
import { Device, IPyDriver, LED, NewSwitchVector, SwitchMember, SwitchVector, type RxEvent } from 'indi-node';
import { isMain, runExample } from './run.js';

class LEDDriver extends IPyDriver {
  override async rxevent(event: RxEvent) {
    if (event.devicename !== 'led') return;
    const led = this.driverdata.ledobj as LED;
    if (event instanceof NewSwitchVector && event.vectorname === 'ledvector' && event.has('ledmember')) {
      const value = event.get('ledmember');
      if (value === 'On') led.on(); else if (value === 'Off') led.off(); else return;
      event.vector.set('ledmember', value);
      await event.vector.sendSetVector();
    }
  }
}

const ledvector = new SwitchVector({ name: 'ledvector', label: 'LED', group: 'Control Group', perm: 'wo',
  rule: 'AtMostOne', state: 'Ok', members: [new SwitchMember({ name: 'ledmember', label: 'LED Value', membervalue: 'Off' })] });
const driver = new LEDDriver([new Device('led', [ledvector])], { ledobj: new LED(17) });

export default driver;
if (isMain(import.meta)) await runExample(driver);
