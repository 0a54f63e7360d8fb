// The partner's crypto against the committed vectors (tests/vectors) and real dev key files:
//   sm3        GB/T 32905 examples
//   sm2        GB/T 32918.5 example: verifies, and signing with its k gives its (r, s)
//   inclusion  every RFC 9162/SM3 inclusion case (valid and corrupted) under merkle/inclusion
//   keys       with YRD_DEV_DIR: each member-*.pem parses, matches its .pub and d*G, and signs;
//              corrupted DER is refused; a checkpoint signed here verifies, a changed one not
// Prints one JSON line; exits 1 naming every failing case.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import smCrypto from 'sm-crypto';
import { children, privateKeyFromPem, publicKeyHexFromPem, readTlv } from './lib/der.mjs';
import { rootFromInclusionProof, verifyCheckpoint } from './lib/receipt.mjs';
import { keyId, noncePoint, sign, sm3, verify } from './lib/sm.mjs';

const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url));
const failures = [];
const counts = {};

function expect(group, name, ok) {
  counts[group] = (counts[group] ?? 0) + 1;
  if (!ok) failures.push(`${group}: ${name}`);
}

function throws(fn) {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

function load(relative) {
  const document = JSON.parse(readFileSync(join(VECTORS, relative), 'utf8'));
  if (!document.source) throw new Error(`${relative} must say where its vectors come from`);
  return document;
}

// sm3
for (const c of load('crypto/sm3.json').cases) {
  expect('sm3', c.desc, sm3(Buffer.from(c.message_ascii, 'ascii')).toString('hex') === c.digest);
}

// sm2
for (const c of load('crypto/sm2_sign.json').cases) {
  const pub = `04${c.x}${c.y}`.toLowerCase();
  const message = Buffer.from(c.message_ascii, 'ascii');
  const signature = sign(message, c.d.toLowerCase(), pub, noncePoint(c.k));
  const [r, s] = children(readTlv(signature).value).map((i) => BigInt(`0x${i.value.toString('hex')}`));
  expect('sm2', `${c.desc}: r`, r === BigInt(`0x${c.r}`));
  expect('sm2', `${c.desc}: s`, s === BigInt(`0x${c.s}`));
  expect('sm2', `${c.desc}: verifies`, verify(message, signature, pub));
  expect('sm2', `${c.desc}: other message fails`, !verify(Buffer.from('message digesT'), signature, pub));
  expect('sm2', `${c.desc}: random k verifies`, verify(message, sign(message, c.d.toLowerCase(), pub), pub));
}

// inclusion
const inclusion = join(VECTORS, 'merkle', 'inclusion');
for (const dir of readdirSync(inclusion)) {
  for (const file of readdirSync(join(inclusion, dir))) {
    const c = load(join('merkle', 'inclusion', dir, file));
    let ok;
    try {
      const root = rootFromInclusionProof(
        c.leaf_index, c.tree_size, Buffer.from(c.leaf_hash, 'hex'), c.proof.map((p) => Buffer.from(p, 'hex')));
      ok = root.equals(Buffer.from(c.root, 'hex'));
    } catch {
      ok = false;
    }
    expect('inclusion', `${dir}/${file}`, ok === !c.want_err);
  }
}

// keys
const dev = process.env.YRD_DEV_DIR;
if (dev) {
  const keys = join(dev, 'keys');
  for (const file of readdirSync(keys).filter((f) => f.endsWith('.pem')).sort()) {
    const pem = readFileSync(join(keys, file), 'utf8');
    const { d, publicKey } = privateKeyFromPem(pem);
    const pub = publicKeyHexFromPem(readFileSync(join(keys, file.replace(/\.pem$/, '.pub')), 'utf8'));
    expect('keys', `${file}: embedded point is the .pub`, publicKey === pub);
    expect('keys', `${file}: d*G is the .pub`, smCrypto.sm2.getPublicKeyFromPrivateKey(d) === pub);
    const message = Buffer.from(file);
    expect('keys', `${file}: signs`, verify(message, sign(message, d, pub), pub));
    expect('keys', `${file}: key id is 64 hex`, /^[0-9a-f]{64}$/.test(keyId(pub)));
  }
  const der = Buffer.from(readFileSync(join(keys, 'member-JS.pub'), 'utf8').split('\n').slice(1, -2).join(''), 'base64');
  const pem = (bytes) => `-----BEGIN PUBLIC KEY-----\n${bytes.toString('base64')}\n-----END PUBLIC KEY-----\n`;
  const wrongCurve = Buffer.from(der);
  wrongCurve[der.indexOf(Buffer.from('2a811ccf5501822d', 'hex')) + 7] ^= 1; // 1.2.156.10197.1.301 -> .300
  expect('keys', 'wrong curve oid refused', throws(() => publicKeyHexFromPem(pem(wrongCurve))));
  expect('keys', 'truncated der refused', throws(() => publicKeyHexFromPem(pem(der.subarray(0, der.length - 1)))));
  expect('keys', 'trailing bytes refused', throws(() => publicKeyHexFromPem(pem(Buffer.concat([der, Buffer.from([0])])))));
  expect('keys', 'private pem is not a public key', throws(() => publicKeyHexFromPem(readFileSync(join(keys, 'log.pem'), 'utf8'))));

  // a checkpoint signed here with the dev log key, as docs/receipt.md describes
  const log = privateKeyFromPem(readFileSync(join(keys, 'log.pem'), 'utf8'));
  const origin = 'yrd.gateway.dev/log';
  const body = `${origin}\n7\n${sm3(Buffer.from('root')).toString('base64')}\n`;
  const hint = sm3(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([0x53]), Buffer.from(log.publicKey, 'hex')])).subarray(0, 4);
  const note = (text) => `${text}\n\u2014 ${origin} ${Buffer.concat([hint, sign(Buffer.from(body), log.d, log.publicKey)]).toString('base64')}\n`;
  expect('checkpoint', 'signed note verifies', !throws(() => verifyCheckpoint(note(body), log.publicKey, origin)));
  const other = note(body);
  expect('checkpoint', 'changed size refused', throws(() => verifyCheckpoint(other.replace('\n7\n', '\n8\n'), log.publicKey, origin)));
  expect('checkpoint', 'other origin refused', throws(() => verifyCheckpoint(other, log.publicKey, 'other/log')));
  const member = privateKeyFromPem(readFileSync(join(keys, 'member-SH.pem'), 'utf8'));
  expect('checkpoint', 'other key refused', throws(() => verifyCheckpoint(other, member.publicKey, origin)));
}

if (failures.length) {
  process.stdout.write(`${JSON.stringify({ ok: false, failed: failures })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ok: true, ...counts })}\n`);
