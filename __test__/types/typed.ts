// Compiled (never run) by readme.spec.ts beside the README's blocks, in strict mode: what the
// typed lookups and IPyDriver<Data> let through, and what they catch. Each @ts-expect-error
// fails the compile if its line stops being an error.
import { Device, IPyDriver, NumberMember, NumberVector, type SwitchVector } from 'indi-node';

class Driver extends IPyDriver<{ count: number; name: string }> {
  override async hardware() {
    const count: number = this.driverdata.count;
    // @ts-expect-error: driverdata is typed, not Record<string, unknown>
    const missing = this.driverdata.other;
    const vector = this.device('D').numberVector('n');
    vector.set('v', count + 1);
    // @ts-expect-error: a number vector takes numbers, not switch values (no cast needed to know)
    vector.set('v', true);
    const switches: SwitchVector = this.device('D').switchVector('s');
    switches.set('on', 'On');
    // @ts-expect-error: a switch takes 'On' or 'Off'
    switches.set('on', 'Maybe');
    void missing;
  }
}

export const driver = new Driver([new Device('D', [new NumberVector({ name: 'n', perm: 'rw', members: [new NumberMember({ name: 'v' })] })])], {
  count: 1,
  name: 'x',
});
// @ts-expect-error: the data must match the driver's type
export const wrong = new Driver([], { count: 'one', name: 'x' });
