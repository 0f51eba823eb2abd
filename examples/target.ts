// indipydriver's example 2: the thermostat with a target temperature clients can set
// (`indi_setprop 'Thermostat.targetvector.target=18'`, sexagesimal such as `-1:30` accepted).
import { NewNumberVector, NumberMember, NumberVector, type RxEvent, isMainModule, runDriver } from 'indi-node';
import { intervalArg } from './run.js';
import { ThermalControl } from './thermalcontrol.js';
import { ThermoDriver, thermostatDevice } from './thermostat.js';

class TargetDriver extends ThermoDriver {
  override async rxevent(event: RxEvent) {
    const control = this.driverdata.thermalcontrol;
    if (event instanceof NewNumberVector && event.vectorname === 'targetvector' && event.has('target')) {
      // Values reach rxevent checked: numbers within -50..99 (others are refused with an Alert).
      const target = event.getFloatValue('target');
      control.target = target;
      event.vector.set('target', target);
      await event.vector.sendSetVector();
    }
  }
}

/** The example's driver (`indi-node serve dist/examples/target.js` serves it). */
export default function makeDriver(interval = 10): TargetDriver {
  const control = new ThermalControl('Thermostat');
  const target = new NumberVector({
    name: 'targetvector',
    label: 'Target',
    group: 'Values',
    perm: 'rw',
    state: 'Ok',
    members: [new NumberMember({ name: 'target', label: 'Target (C)', format: '%3.1f', min: -50, max: 99, membervalue: control.target })],
  });
  return new TargetDriver([thermostatDevice(control, [target])], { thermalcontrol: control, interval });
}

if (isMainModule(import.meta)) await runDriver(makeDriver(intervalArg(10)), import.meta);
