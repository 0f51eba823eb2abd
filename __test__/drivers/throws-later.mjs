// A driver module that throws from a timer 300 ms after it starts: outside every callback
// the driver API guards, so only the server's per-module isolation can contain it.
import { Device, IPyDriver, TextMember, TextVector } from 'indi-node';

class ThrowsLater extends IPyDriver {
  async hardware() {
    setTimeout(() => {
      throw new Error('thrown from a timer on purpose');
    }, 300);
  }
}

export default () => new ThrowsLater([new Device('ThrowsLater', [new TextVector({ name: 'T', perm: 'ro', members: [new TextMember({ name: 't' })] })])]);
