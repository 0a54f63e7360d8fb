// PEM and DER for SM2 keys: just enough to turn the gateway's PEM files into the raw hex
// that sm-crypto takes (it reads no PEM). Formats, from docs/registry.md and the keys the
// dev environment writes:
//   public:  SubjectPublicKeyInfo  SEQUENCE { SEQUENCE { OID ecPublicKey, OID sm2 },
//                                             BIT STRING 04||x||y }
//   private: PKCS#8 PrivateKeyInfo SEQUENCE { INTEGER 0, SEQUENCE { OID ecPublicKey, OID sm2 },
//                                             OCTET STRING ECPrivateKey }
//            ECPrivateKey (SEC1)   SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID?, [1] BIT STRING? }
// The SM2 algorithm OID itself (1.2.156.10197.1.301) is also accepted in place of ecPublicKey.
// Every malformed input throws an Error whose message names what was wrong.

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const CONTEXT_0 = 0xa0;
const CONTEXT_1 = 0xa1;

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_SM2 = '1.2.156.10197.1.301';

/** The DER bytes of the first PEM block labelled `label` in `text`. */
export function pemBlock(text, label) {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
  const match = re.exec(text);
  if (!match) throw new Error(`pem: no ${label} block`);
  const body = match[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new Error(`pem: bad base64 in ${label} block`);
  }
  return Buffer.from(body, 'base64');
}

/** One TLV at `offset`: {tag, value, end}. Definite lengths only (DER). */
export function readTlv(der, offset = 0) {
  if (offset + 2 > der.length) throw new Error(`der: truncated header at ${offset}`);
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error(`der: unsupported length form at ${offset}`);
    if (start + count > der.length) throw new Error(`der: truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    if (length < 128 || der[start] === 0) throw new Error(`der: non-minimal length at ${offset}`);
    start += count;
  }
  const end = start + length;
  if (end > der.length) throw new Error(`der: value overruns input at ${offset}`);
  return { tag, value: der.subarray(start, end), end };
}

/** The children of a constructed value, which must be exactly covered by them. */
export function children(value) {
  const items = [];
  let offset = 0;
  while (offset < value.length) {
    const item = readTlv(value, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}

/** The single TLV that `der` is, checked to have tag `tag` and nothing after it. */
function single(der, tag, what) {
  const item = readTlv(der, 0);
  if (item.tag !== tag) throw new Error(`der: ${what}: expected tag 0x${tag.toString(16)}, got 0x${item.tag.toString(16)}`);
  if (item.end !== der.length) throw new Error(`der: ${what}: trailing bytes`);
  return item.value;
}

/** Dotted text of an OBJECT IDENTIFIER's content bytes. */
export function decodeOid(value) {
  if (value.length === 0) throw new Error('der: empty oid');
  const arcs = [];
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    n = n * 128 + (value[i] & 0x7f);
    if (!(value[i] & 0x80)) {
      arcs.push(n);
      n = 0;
    } else if (i === value.length - 1) {
      throw new Error('der: truncated oid');
    }
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

function checkAlgorithm(item, what) {
  if (item.tag !== SEQUENCE) throw new Error(`${what}: algorithm is not a sequence`);
  const oids = children(item.value).filter((a) => a.tag === OID).map((a) => decodeOid(a.value));
  if (oids[0] === OID_SM2) return;
  if (oids[0] !== OID_EC_PUBLIC_KEY) throw new Error(`${what}: not an ec/sm2 key: algorithm ${oids[0] ?? 'none'}`);
  if (oids[1] !== OID_SM2) throw new Error(`${what}: wrong curve: expected sm2 (${OID_SM2}), got ${oids[1] ?? 'none'}`);
}

function pointHex(bits, what) {
  if (bits.length !== 66 || bits[0] !== 0 || bits[1] !== 4) {
    throw new Error(`${what}: public key must be an uncompressed 65-byte point`);
  }
  return bits.subarray(1).toString('hex');
}

/** '04'||x||y hex of a SubjectPublicKeyInfo PEM ("PUBLIC KEY"). */
export function publicKeyHexFromPem(pem) {
  const what = 'public key';
  const items = children(single(pemBlock(pem, 'PUBLIC KEY'), SEQUENCE, what));
  if (items.length !== 2 || items[1].tag !== BIT_STRING) throw new Error(`${what}: expected algorithm and bit string`);
  checkAlgorithm(items[0], what);
  return pointHex(items[1].value, what);
}

/**
 * {d, publicKey} hex of a PKCS#8 PEM ("PRIVATE KEY"): d is 64 hex digits; publicKey is the
 * point embedded in the ECPrivateKey, or null when it carries none.
 */
export function privateKeyFromPem(pem) {
  const what = 'private key';
  const items = children(single(pemBlock(pem, 'PRIVATE KEY'), SEQUENCE, what));
  if (items.length < 3 || items[0].tag !== INTEGER || items[2].tag !== OCTET_STRING) {
    throw new Error(`${what}: not a pkcs#8 private key info`);
  }
  checkAlgorithm(items[1], what);
  const ec = children(single(items[2].value, SEQUENCE, 'ecprivatekey'));
  if (ec.length < 2 || ec[0].tag !== INTEGER || ec[1].tag !== OCTET_STRING) {
    throw new Error('ecprivatekey: must start with version and private key');
  }
  if (ec[0].value.length !== 1 || ec[0].value[0] !== 1) throw new Error('ecprivatekey: version must be 1');
  if (ec[1].value.length !== 32) throw new Error(`ecprivatekey: d must be 32 bytes, got ${ec[1].value.length}`);
  let publicKey = null;
  for (const item of ec.slice(2)) {
    if (item.tag === CONTEXT_0) {
      const curve = decodeOid(single(item.value, OID, 'ecprivatekey curve'));
      if (curve !== OID_SM2) throw new Error(`ecprivatekey: wrong curve: expected sm2 (${OID_SM2}), got ${curve}`);
    } else if (item.tag === CONTEXT_1) {
      publicKey = pointHex(single(item.value, BIT_STRING, 'ecprivatekey public key'), 'ecprivatekey');
    }
  }
  return { d: ec[1].value.toString('hex'), publicKey };
}
