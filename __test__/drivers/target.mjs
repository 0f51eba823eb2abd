// In-process test driver (served as a module by `indi-node serve`): device "Target" echoes every
// request, logs each element it receives to stderr as `[Target rx] ...` (so tests can prove
// forged traffic never reached it), and throws on purpose in hardware() and on the text "throw".
import {
  BLOBMember, BLOBVector, Device, IPyDriver, NewBLOBVector, NewNumberVector, NewTextVector, NumberMember, NumberVector,
  TextMember, TextVector,
} from '../../dist/index.js';

/** One line per received element: tag, where, version, message and member values (short). */
export function describe(element) {
  const parts = [element.tag];
  if (element.device !== undefined) parts.push(`device=${element.device}`);
  if (element.name !== undefined) parts.push(`name=${element.name}`);
  if (element.version !== undefined) parts.push(`version=${element.version}`);
  if (element.message !== undefined) parts.push(`message=${element.message.slice(0, 60)}`);
  for (const member of element.members ?? []) {
    const value = member.blob ? `<${member.blob.length} bytes>` : String(member.value ?? member.number ?? '');
    parts.push(`${member.name}=${value.slice(0, 60)}`);
  }
  return parts.join(' ');
}

class Target extends IPyDriver {
  receive(elements) {
    for (const element of elements) process.stderr.write(`[Target rx] ${describe(element)}\n`);
    super.receive(elements);
  }

  async hardware() {
    throw new Error('hardware failed on purpose');
  }

  async rxevent(event) {
    if (event instanceof NewTextVector) {
      if (event.get('t') === 'throw') throw new Error('rxevent failed on purpose');
      event.vector.set('t', event.get('t'));
      await event.vector.sendSetVector();
    } else if (event instanceof NewNumberVector) {
      event.vector.set('n', event.get('n'));
      await event.vector.sendSetVector();
    } else if (event instanceof NewBLOBVector) {
      // The uploaded bytes go back as they are: a Buffer, never read as a file path.
      event.vector.set('b', event.get('b'));
      await event.vector.sendSetVectorMembers({ members: ['b'] });
    }
  }
}

export default () =>
  new Target([
    new Device('Target', [
      new NumberVector({ name: 'N', perm: 'rw', members: [new NumberMember({ name: 'n', format: '%.0f', membervalue: 0 })] }),
      new TextVector({ name: 'T', perm: 'rw', members: [new TextMember({ name: 't', membervalue: '' })] }),
      new BLOBVector({ name: 'B', perm: 'rw', members: [new BLOBMember({ name: 'b', blobformat: '.bin' })] }),
    ]),
  ]);
