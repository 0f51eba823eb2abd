// indipydriver's example 1: a thermostat reporting its temperature, read-only.
// `--interval S` sets the reporting period (default 10 s; the heater is polled five times as often).
import { setTimeout as sleep } from 'node:timers/promises';
import { Device, IPyDriver, NumberMember, NumberVector } from 'indi-node';
import { exampleArgs, isMain, runExample } from './run.js';
import { ThermalControl } from './thermalcontrol.js';

/** Reports the simulated temperature every `interval` seconds. */
export class ThermoDriver extends IPyDriver {
  override async hardware() {
    const control = this.driverdata.thermalcontrol as ThermalControl;
    const interval = this.driverdata.interval as number;
    const vector = this.get(control.devicename)!.get('temperaturevector') as NumberVector;
    void control.poll(interval / 5, this.signal);
    while (!this.stop) {
      await sleep(interval * 1000, undefined, { signal: this.signal }).catch(() => undefined);
      if (this.stop) break;
      vector.set('temperature', control.temperature);
      await vector.sendSetVector();
    }
  }
}

/** The thermostat device with its read-only temperature (and more vectors for the other examples). */
export function thermostatDevice(control: ThermalControl, more: NumberVector[] = []): Device {
  const temperature = new NumberVector({ name: 'temperaturevector', label: 'Temperature', group: 'Values', perm: 'ro', state: 'Ok',
    members: [new NumberMember({ name: 'temperature', label: 'Temperature (C)', format: '%3.1f', min: -50, max: 99, membervalue: control.temperature })] });
  return new Device(control.devicename, [temperature, ...more]);
}

/** The example's driver (`indi-node serve dist/examples/thermostat.js` serves it). */
export default function makeDriver(interval = 10): ThermoDriver {
  const control = new ThermalControl('Thermostat');
  return new ThermoDriver([thermostatDevice(control)], { thermalcontrol: control, interval });
}

if (isMain(import.meta)) {
  const args = exampleArgs();
  await runExample(makeDriver(args.interval), args);
}
