// A driver module that leaves a promise rejected 300 ms after it starts (nobody awaits it).
import { Device, IPyDriver, LightMember, LightVector } from 'indi-node';

const driver = new (class RejectsLater extends IPyDriver {
  async hardware() {
    setTimeout(() => void Promise.reject(new Error('rejected on purpose')), 300);
  }
})([new Device('RejectsLater', [new LightVector({ name: 'L', members: [new LightMember({ name: 'l' })] })])]);

// An instance, not a factory: a restart imports the module afresh.
export default driver;
