#!/usr/bin/env node
// Leaves each kind of markup open, each followed by a valid definition (Resync.P1..P7): a
// server must read every definition, and log each loss.
const def = (n) => `<defTextVector device="Resync" name="P${n}" state="Idle" perm="ro"><defText name="t">ok</defText></defTextVector>\n`;
let state = 0x2545f491;
const noise = Buffer.from(
  Array.from({ length: 64 << 10 }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 24) & 0xff;
  }),
);
const broken = [
  '<foo>\n',
  `<setTextVector device='Resync name="P0"><oneText name="t">x</oneText></setTextVector>\n`,
  '<!-- never closed\n',
  '<setTextVector device="Resync" name="P0"><oneText name="t"><![CDATA[ never closed\n',
  '<?pi never closed\n',
  '<!DOCTYPE never closed\n',
  noise,
];
process.stdout.write(def(0));
broken.forEach((markup, i) => {
  process.stdout.write(markup);
  process.stdout.write(def(i + 1));
});
setInterval(() => undefined, 1 << 30);
