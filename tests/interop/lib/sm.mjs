// SM3 (GB/T 32905) and SM2 signatures (GB/T 32918.2, SM3, default user id, DER r/s per
// GM/T 0009) over bytes, with sm-crypto underneath. sm-crypto works on hex strings and
// plain arrays, so everything is converted here and nowhere else.

import { randomBytes } from 'node:crypto';
import jsbn from 'jsbn';
import smCrypto from 'sm-crypto';

const { sm2, sm3: sm3Hex } = smCrypto;
const { BigInteger } = jsbn;

export const DEFAULT_USER_ID = '1234567812345678';
const OPTIONS = { hash: true, der: true, userId: DEFAULT_USER_ID };

/** SM3 of `bytes` (Buffer/Uint8Array) as a 32-byte Buffer. */
export function sm3(bytes) {
  return Buffer.from(sm3Hex(Array.from(bytes)), 'hex');
}

/** Hex SM3 of `bytes`. */
export function sm3hex(bytes) {
  return sm3(bytes).toString('hex');
}

/** Key id of an SM2 public key: hex SM3 of the 65-byte uncompressed point ('04'||x||y hex). */
export function keyId(publicKeyHex) {
  if (!/^04[0-9a-f]{128}$/i.test(publicKeyHex)) throw new Error('key id: expected an uncompressed point');
  return sm3hex(Buffer.from(publicKeyHex, 'hex'));
}

const N_MINUS_1 = new BigInteger('FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122', 16);

/**
 * One precomputed (k, x1 of kG) pair for sm-crypto's `pointPool`, with k from node's CSPRNG:
 * sm-crypto's own generator (jsbn's SecureRandom) falls back to Math.random outside a
 * browser, which is not good enough for a signature nonce. `kHex` fixes k (test vectors).
 */
export function noncePoint(kHex = undefined) {
  const k = kHex
    ? new BigInteger(kHex, 16)
    : new BigInteger(randomBytes(40).toString('hex'), 16).mod(N_MINUS_1).add(BigInteger.ONE);
  const kG = sm2.getPublicKeyFromPrivateKey(k.toString(16).padStart(64, '0'));
  return { k, x1: new BigInteger(kG.slice(2, 66), 16) };
}

/** DER SM2 signature (Buffer) of `bytes` with private key `d` (hex), public key given. */
export function sign(bytes, d, publicKeyHex, point = undefined) {
  const pointPool = [point ?? noncePoint()];
  const der = sm2.doSignature(Array.from(bytes), d, { ...OPTIONS, publicKey: publicKeyHex, pointPool });
  return Buffer.from(der, 'hex');
}

/**
 * Whether `signature` (DER Buffer) is a valid SM2 signature of `bytes` under the public key
 * ('04'||x||y hex). Malformed DER is simply invalid.
 */
export function verify(bytes, signature, publicKeyHex) {
  if (!checkDerSignature(signature)) return false;
  try {
    return sm2.doVerifySignature(Array.from(bytes), signature.toString('hex'), publicKeyHex, OPTIONS);
  } catch {
    return false;
  }
}

/** DER SEQUENCE{INTEGER r, INTEGER s}, short lengths, nothing after it (sm-crypto does not check). */
function checkDerSignature(sig) {
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) return false;
  let offset = 2;
  for (let i = 0; i < 2; i++) {
    if (sig[offset] !== 0x02) return false;
    const len = sig[offset + 1];
    if (len < 1 || len > 33 || offset + 2 + len > sig.length) return false;
    offset += 2 + len;
  }
  return offset === sig.length;
}
