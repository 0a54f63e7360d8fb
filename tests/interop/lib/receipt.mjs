// Receipt verification from docs/receipt.md alone: RFC 9162 with SM3 and the signed
// checkpoint note. Every failure throws an Error whose message names the check.
//
//   leaf hash  SM3(0x00 || entry)        node hash  SM3(0x01 || left || right)
//   checkpoint body  "<origin>\n<size>\n<base64 root>\n", then "\n", then signature lines
//   "— <key name> <base64(4-byte hint || DER SM2 signature)>\n"; hint = first 4 bytes of
//   SM3(key_name || 0x0A || 0x53 || 04||x||y); the key name is the log's origin.

import { sm3, verify } from './sm.mjs';

const HASH_SIZE = 32;
const SIG_PREFIX = '\u2014 '; // em dash + space, as in C2SP signed notes

export function leafHash(entry) {
  return sm3(Buffer.concat([Buffer.from([0]), entry]));
}

function nodeHash(left, right) {
  return sm3(Buffer.concat([Buffer.from([1]), left, right]));
}

/**
 * The root that an RFC 9162 section 2.1.3.2 inclusion proof leads to, from the leaf hash of
 * leaf `index` in a tree of `size` leaves. Proofs of the wrong length are refused before any
 * hashing.
 */
export function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(index < size)) throw new Error(`inclusion proof: leaf index ${index} not below tree size ${size}`);
  if (leaf.length !== HASH_SIZE) throw new Error(`inclusion proof: leaf hash must be ${HASH_SIZE} bytes, got ${leaf.length}`);
  // The path length is fixed by (index, size): the inner part below the point where the
  // leaf's path and the last leaf's path meet, plus one hash per set bit above it.
  const inner = bitLength(index ^ (size - 1));
  const border = popCount(index >>> inner);
  if (proof.length !== inner + border) {
    throw new Error(`inclusion proof has wrong size: expected ${inner + border}, got ${proof.length}`);
  }
  proof.forEach((p, i) => {
    if (p.length !== HASH_SIZE) throw new Error(`inclusion proof element ${i} must be ${HASH_SIZE} bytes, got ${p.length}`);
  });
  let hash = leaf;
  for (let i = 0; i < inner; i++) {
    hash = (index >>> i) & 1 ? nodeHash(proof[i], hash) : nodeHash(hash, proof[i]);
  }
  for (let i = inner; i < proof.length; i++) hash = nodeHash(proof[i], hash);
  return hash;
}

function bitLength(n) {
  let bits = 0;
  for (; n > 0; n = Math.floor(n / 2)) bits++;
  return bits;
}

function popCount(n) {
  let count = 0;
  for (; n > 0; n = Math.floor(n / 2)) count += n & 1;
  return count;
}

/** {origin, size, root, body, keyName, hint, signature} of a signed note (not verified). */
export function parseCheckpoint(text) {
  if (!text.endsWith('\n')) throw new Error('checkpoint note must end with a newline');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new Error('checkpoint note has no blank line before its signatures');
  const body = text.slice(0, split + 1);
  const [origin, sizeText, rootText, ...extra] = body.slice(0, -1).split('\n');
  if (rootText === undefined) throw new Error('checkpoint body needs origin, size and root lines');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error(`checkpoint size is not a canonical decimal: ${sizeText}`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) {
    throw new Error('checkpoint root is not base64 of 32 bytes');
  }
  const line = text.slice(split + 2).split('\n').find((l) => l.length > 0);
  if (!line || !line.startsWith(SIG_PREFIX)) throw new Error('checkpoint signature line must start with an em dash');
  const [keyName, blob] = line.slice(SIG_PREFIX.length).split(' ');
  const raw = Buffer.from(blob ?? '', 'base64');
  if (raw.length < 5) throw new Error('checkpoint signature too short');
  return {
    origin, size: Number(sizeText), root, body: Buffer.from(body, 'utf8'), extension: extra,
    keyName, hint: raw.subarray(0, 4), signature: raw.subarray(4),
  };
}

/** The checkpoint, checked: origin, key name and hint of the trusted key, SM2 signature. */
export function verifyCheckpoint(text, publicKeyHex, origin) {
  const note = parseCheckpoint(text);
  if (note.origin !== origin) throw new Error(`checkpoint origin mismatch: expected ${origin}, got ${note.origin}`);
  if (note.keyName !== origin) throw new Error(`checkpoint key name mismatch: expected ${origin}, got ${note.keyName}`);
  const hint = sm3(Buffer.concat([Buffer.from(`${note.keyName}\n`), Buffer.from([0x53]), Buffer.from(publicKeyHex, 'hex')])).subarray(0, 4);
  if (!hint.equals(note.hint)) throw new Error('checkpoint signature is by an untrusted key (key hint mismatch)');
  if (!verify(note.body, note.signature, publicKeyHex)) throw new Error('checkpoint signature invalid');
  return note;
}

/**
 * Verifies a Receipt message (as grpc-js hands it over) against the registry's log section
 * ({origin, keys: [{key_id, publicKeyHex}]}); returns {entry (parsed JSON), leafIndex,
 * treeSize, root}. Steps, as docs/receipt.md lists them:
 *   (1) the log key named is one of the registry's log keys;
 *   (2) the checkpoint's signature verifies under it, for the registry's origin;
 *   (3) the checkpoint's size is the receipt's tree size;
 *   (4)+(5) the inclusion proof from SM3(0x00 || entry) reaches the checkpoint's root;
 *   (6) the entry is canonical JSON (sorted keys, no whitespace), as documented;
 *   (7) receipt_json (yrd-receipt/v1) says the same as the message's fields.
 */
export function verifyReceipt(receipt, log) {
  // (1): trusted log key
  const key = log.keys.find((k) => k.key_id === receipt.log_key_id);
  if (!key) throw new Error(`receipt log key ${receipt.log_key_id} is not a log key of the registry`);
  // (2): checkpoint signature
  const note = verifyCheckpoint(receipt.checkpoint, key.publicKeyHex, log.origin);
  // (3): checkpoint size
  const leafIndex = Number(receipt.leaf_index);
  const treeSize = Number(receipt.tree_size);
  if (note.size !== treeSize) throw new Error(`checkpoint size ${note.size} is not the receipt's tree size ${treeSize}`);
  // (4) and (5): leaf hash and inclusion proof
  const root = rootFromInclusionProof(leafIndex, treeSize, leafHash(receipt.entry), receipt.inclusion_proof);
  if (!root.equals(note.root)) throw new Error('inclusion proof does not reach the checkpoint root');
  // (6): canonical entry bytes
  const entry = JSON.parse(receipt.entry.toString('utf8'));
  if (canonicalJson(entry) !== receipt.entry.toString('utf8')) throw new Error('log entry is not canonical json');
  // (7): the JSON form
  const json = JSON.parse(receipt.receipt_json);
  const want = {
    format: 'yrd-receipt/v1',
    origin: log.origin,
    log_key_id: receipt.log_key_id,
    leaf_index: leafIndex,
    tree_size: treeSize,
    entry: receipt.entry.toString('base64'),
    leaf_hash: leafHash(receipt.entry).toString('hex'),
    inclusion_proof: receipt.inclusion_proof.map((p) => p.toString('hex')).join(','),
    checkpoint: receipt.checkpoint,
    exchange_id: receipt.exchange_id,
  };
  for (const [field, value] of Object.entries(want)) {
    const got = field === 'inclusion_proof' ? (json[field] ?? []).join(',') : json[field];
    if (got !== value) throw new Error(`receipt_json ${field} differs from the receipt: expected ${value}, got ${got}`);
  }
  return { entry, leafIndex, treeSize, root };
}

/** JSON with keys sorted by code point and no whitespace (Python's sort_keys, compact). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
