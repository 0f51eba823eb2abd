import { Device, IPyDriver, LED, NewSwitchVector, runDriver, SwitchMember, SwitchVector, type RxEvent } from 'indi-node';

class LEDDriver extends IPyDriver<{ led: LED }> {
  override async rxevent(event: RxEvent) {
    if (event instanceof NewSwitchVector && event.devicename === 'led' && event.vectorname === 'ledvector') {
      const value = event.get('ledmember');
      if (value === 'On') this.driverdata.led.on();
      else if (value === 'Off') this.driverdata.led.off();
      else return;
      event.vector.set('ledmember', value);
      await event.vector.sendSetVector();
    }
  }
}

const ledvector = new SwitchVector({
  name: 'ledvector',
  label: 'LED',
  group: 'Control Group',
  perm: 'wo',
  rule: 'AtMostOne',
  state: 'Ok',
  members: [new SwitchMember({ name: 'ledmember', label: 'LED Value', membervalue: 'Off' })],
});
const driver = new LEDDriver([new Device('led', [ledvector])], { led: new LED(17) });

export default driver; // what `indi-node serve led.js` serves
// Under an INDI server: INDI on stdin/stdout. Run by hand: served on localhost:7624.
await runDriver(driver, import.meta);
