// The signed trust registry (docs/registry.md): checked against the governance key given
// out of band, then read for members, their keys and dialects, the log and gateway keys.

import { readFileSync } from 'node:fs';
import { publicKeyHexFromPem } from './der.mjs';
import { canonicalJson } from './receipt.mjs';
import { keyId, verify } from './sm.mjs';

/** "REGION/org_code/subsystem", the text form of a MemberId. */
export function memberText(id) {
  return `${id.region}/${id.org_code}/${id.subsystem}`;
}

/** A key entry with its point as hex, its key id recomputed and checked. */
function withPoint(entry, where) {
  const publicKeyHex = publicKeyHexFromPem(entry.public_key);
  if (keyId(publicKeyHex) !== entry.key_id) throw new Error(`registry: ${where}: key_id is not SM3 of the point`);
  return { ...entry, publicKeyHex };
}

export class Registry {
  /**
   * Loads `path` (the signed wrapper {key_id, registry, signature}) and verifies the SM2
   * signature over the document's canonical bytes with the governance public key PEM.
   */
  static load(path, governancePem) {
    const wrapper = JSON.parse(readFileSync(path, 'utf8'));
    const governance = publicKeyHexFromPem(governancePem);
    if (wrapper.key_id !== keyId(governance)) throw new Error('registry: signed by another governance key');
    const signed = Buffer.from(canonicalJson(wrapper.registry), 'utf8');
    if (!verify(signed, Buffer.from(wrapper.signature, 'base64'), governance)) {
      throw new Error('registry: governance signature invalid');
    }
    return new Registry(wrapper.registry);
  }

  constructor(document) {
    this.document = document;
    this.log = {
      origin: document.log.origin,
      keys: document.log.keys.map((k) => withPoint(k, 'log key')),
    };
    this.gatewayKeys = (document.gateway_keys ?? []).map((k) => withPoint(k, `gateway ${k.purpose} key`));
  }

  /** The member entry of `region` (the dev registry has one member per region). */
  member(region) {
    const found = this.document.members.filter((m) => m.id.region === region);
    if (found.length !== 1) throw new Error(`registry: expected one member in ${region}, got ${found.length}`);
    return found[0];
  }

  /** The member whose text id is `text`. */
  memberById(text) {
    const found = this.document.members.find((m) => memberText(m.id) === text);
    if (!found) throw new Error(`registry: no member ${text}`);
    return found;
  }

  /** The public key (hex point) of `member` with id `id`, or null. */
  memberKey(member, id) {
    const entry = member.keys.find((k) => k.key_id === id);
    return entry ? withPoint(entry, `${memberText(member.id)} key`).publicKeyHex : null;
  }

  /** The gateway key with id `id` and purpose `purpose`, or null (a key serves one purpose). */
  gatewayKey(id, purpose) {
    const entry = this.gatewayKeys.find((k) => k.key_id === id && k.purpose === purpose);
    return entry ? entry.publicKeyHex : null;
  }
}
