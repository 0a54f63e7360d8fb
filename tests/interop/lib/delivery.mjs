// What a recipient checks in a Delivery (protos/yrd/v1/exchange.proto, TranslationAttestation):
// the sender's SM2 signature on the original envelope bytes, the gateway's translation
// attestation when there is one, and that the receipt's log entry records these bytes.

import { decodeEnvelope, memberTextOf } from './gateway.mjs';
import { canonicalJson, verifyReceipt } from './receipt.mjs';
import { memberText } from './registry.mjs';
import { sm3hex, verify } from './sm.mjs';

const ATTESTATION = 'attestation';

/** The attestation's statement, checked: canonical JSON, signed by a gateway attestation key. */
export function verifyAttestation(attestation, registry) {
  const key = registry.gatewayKey(attestation.key_id, ATTESTATION);
  if (!key) throw new Error(`attestation key ${attestation.key_id} is not a gateway attestation key`);
  if (!verify(attestation.statement, attestation.signature, key)) throw new Error('attestation signature invalid');
  const text = attestation.statement.toString('utf8');
  const statement = JSON.parse(text);
  if (canonicalJson(statement) !== text) throw new Error('attestation statement is not canonical json');
  if (statement.type !== 'translation' || statement.v !== 1) {
    throw new Error(`attestation statement type/v: expected translation/1, got ${statement.type}/${statement.v}`);
  }
  return statement;
}

/**
 * Verifies a signed envelope with its receipt (and attestation, if any) and returns
 * {envelope (decoded), bytes, statement (or null), entry, sender, recipient}. The signing key
 * is the sender's registered key, or a gateway attestation key for an envelope the gateway
 * signed as a push member's adapter: one the attestation says is relayed, or -- without an
 * attestation -- one from a member registered for push (docs/registry.md, gateway_keys).
 */
export function verifySigned(types, registry, signed, receipt, attestation = null) {
  const bytes = signed.envelope;
  const envelope = decodeEnvelope(types, bytes);
  const sender = memberTextOf(types, envelope.sender);
  const recipient = memberTextOf(types, envelope.recipient);
  // (1): the attestation, when the gateway sent one
  const statement = attestation && attestation.statement.length > 0 ? verifyAttestation(attestation, registry) : null;
  // (2): the signature on the exact envelope bytes
  const member = registry.memberById(sender);
  let key = registry.memberKey(member, signed.key_id);
  const relayed = statement ? statement.relayed === true : member.delivery.mode === 'push';
  if (!key && relayed) key = registry.gatewayKey(signed.key_id, ATTESTATION);
  if (!key) throw new Error(`envelope key ${signed.key_id} is not a key of ${sender}`);
  if (!verify(bytes, signed.signature, key)) throw new Error(`envelope signature of ${sender} invalid`);
  if (sm3hex(envelope.payload) !== envelope.payload_digest.toString('hex')) throw new Error('envelope payload_digest is not SM3 of the payload');
  // (3): the receipt, and that its log entry records exactly this envelope
  const { entry } = verifyReceipt(receipt, registry.log);
  const expected = {
    exchange_id: envelope.exchange_id,
    envelope_sm3: sm3hex(bytes),
    payload_sm3: sm3hex(envelope.payload),
    signature_sm3: sm3hex(signed.signature),
    signer_key_id: signed.key_id,
    sender,
    recipient,
    kind: envelope.kind,
  };
  for (const [field, value] of Object.entries(expected)) {
    if (entry[field] !== value) throw new Error(`log entry ${field}: expected ${value}, got ${entry[field]}`);
  }
  if (receipt.exchange_id !== envelope.exchange_id) throw new Error('receipt is for another exchange');
  if ('in_reply_to' in entry && entry.in_reply_to !== envelope.in_reply_to) {
    throw new Error(`log entry in_reply_to: expected ${envelope.in_reply_to}, got ${entry.in_reply_to}`);
  }
  return { envelope, bytes, statement, entry, sender, recipient };
}

/**
 * A delivery to `me` (registry member), checked as above plus the attestation's bindings:
 * original bytes, delivered bytes, recipient, dialects. Returns verifySigned's result.
 */
export function verifyDelivery(types, registry, delivery, me) {
  const checked = verifySigned(types, registry, delivery.envelope, delivery.receipt, delivery.attestation);
  if (checked.recipient !== memberText(me.id)) throw new Error(`delivery is addressed to ${checked.recipient}`);
  const { statement } = checked;
  if (statement) {
    const want = {
      exchange_id: checked.envelope.exchange_id,
      recipient: memberText(me.id),
      envelope_sm3: sm3hex(checked.bytes),
      delivered_sm3: sm3hex(delivery.payload),
      target_dialect: delivery.dialect,
    };
    for (const [field, value] of Object.entries(want)) {
      if (statement[field] !== value) throw new Error(`attestation ${field}: expected ${value}, got ${statement[field]}`);
    }
    if (delivery.dialect !== me.delivery.dialect) {
      throw new Error(`delivery dialect ${delivery.dialect} is not my registered ${me.delivery.dialect}`);
    }
    if (!statement.relayed && statement.source_dialect !== checked.envelope.dialect) {
      throw new Error(`attestation source_dialect ${statement.source_dialect} is not the envelope's ${checked.envelope.dialect}`);
    }
  }
  return checked;
}
