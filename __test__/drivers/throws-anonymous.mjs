// A driver module whose failure names no file of its own: JSON.parse, called by a timer,
// throws with only Node's frames in the stack.
import { Device, IPyDriver, SwitchMember, SwitchVector } from 'indi-node';

class ThrowsAnonymous extends IPyDriver {
  async hardware() {
    setTimeout(JSON.parse, 300, '{');
  }
}

export default () =>
  new ThrowsAnonymous([new Device('Anonymous', [new SwitchVector({ name: 'S', perm: 'rw', rule: 'AnyOfMany', members: [new SwitchMember({ name: 's' })] })])]);
