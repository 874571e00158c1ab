import { createHash } from 'node:crypto';
const n = 200000;
const buf = Buffer.alloc(33, 7);
const hex = 'ab'.repeat(32);
const time = (label: string, f: () => void) => { const t = performance.now(); f(); console.log(label, ((performance.now() - t) / n * 1000).toFixed(2), 'µs'); };
const base = createHash('sha256').update(Buffer.from([0]));
for (let r = 0; r < 3; r++) {
time('createHash 33B', () => { for (let i = 0; i < n; i++) createHash('sha256').update(buf).digest(); });
time('createHash 2 updates hex', () => { for (let i = 0; i < n; i++) createHash('sha256').update(Buffer.from([0])).update(hex, 'hex').digest(); });
time('copy', () => { for (let i = 0; i < n; i++) base.copy().update(hex, 'hex').digest(); });
time('Buffer.from hex', () => { for (let i = 0; i < n; i++) Buffer.from(hex, 'hex'); });
}
