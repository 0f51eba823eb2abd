// indipydriver's example 1: a thermostat reporting its temperature, read-only.
// `--interval S` sets the reporting period (default 10 s; the heater is polled five times as often).
import { setTimeout as sleep } from 'node:timers/promises';
import { Device, IPyDriver, NumberMember, NumberVector } from 'indi-node';
import { exampleArgs, runExample } from './run.js';
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

if (import.meta.filename === process.argv[1]) {
  const args = exampleArgs();
  const control = new ThermalControl('Thermostat');
  await runExample(new ThermoDriver([thermostatDevice(control)], { thermalcontrol: control, interval: args.interval ?? 10 }), args);
}
