import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { generateSigningKeyPem, parsePrivateKey, signingKeyFrom } from '../infra/signing/signing-key.ts';
import { exportEvents } from './export.ts';
import { sampleEvents } from './export-sample.ts';
import { ExportVerifier } from './verify.ts';
import { MerkleBuilder } from './merkle.ts';
const key = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'x'), 'x');
let text = '';
for await (const c of exportEvents(sampleEvents(1000, 50), { tenantId: 'acme' }, { signer: key })) text += c;
const lines = text.split('\n').slice(0, -1);
const time = (label: string, f: () => void) => { const t = performance.now(); f(); console.log(label, ((performance.now() - t) / lines.length * 1000).toFixed(2), 'µs/line'); };
for (let rep = 0; rep < 3; rep++) {
time('parse', () => { for (const l of lines) JSON.parse(l); });
time('raw', () => { for (const l of lines) { const v = JSON.parse(l); if ('manifest' in v) continue; const { streamId, streamPosition, eventId, type, schemaVersion, data, metadata, recordedAt, prevHash } = v; createHash('sha256').update(canonicalize({ streamId, streamPosition, eventId, type, schemaVersion, data, metadata, recordedAt, prevHash }) as string).digest('hex'); } });
time('verify', () => { const v = new ExportVerifier({ publicKey: key.publicKey }); for (const l of lines) v.line(l); const r = v.finish(); if (!r.ok) throw new Error('x'); });
const hashes = lines.slice(0, -1).map((l) => JSON.parse(l).hash as string);
time('merkle', () => { const m = new MerkleBuilder(); for (const h of hashes) m.add(h); m.root(); });
}
