// The gateway's gRPC contract, loaded at run time from protos/ (no generated code): protobufjs
// for the exact Envelope bytes that are signed, grpc-js (through proto-loader) for the calls.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const EXCHANGE_PROTO = 'yrd/v1/exchange.proto';

/** protobufjs types of yrd.v1, from the .proto sources under `protosDir`. */
export function loadTypes(protosDir) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protosDir, target);
  root.loadSync(EXCHANGE_PROTO, { keepCase: true });
  root.resolveAll();
  return {
    Envelope: root.lookupType('yrd.v1.Envelope'),
    Region: root.lookupEnum('yrd.v1.Region'),
  };
}

/** A MemberId message (proto-loader object form) from a registry id {region, org_code, subsystem}. */
export function memberProto(id) {
  return { region: `REGION_${id.region}`, org_code: id.org_code, subsystem: id.subsystem };
}

/** "REGION/org_code/subsystem" of a decoded MemberId (enum given as a number or a name). */
export function memberTextOf(types, member) {
  const region = typeof member.region === 'number' ? types.Region.valuesById[member.region] : member.region;
  return `${String(region).replace(/^REGION_/, '')}/${member.org_code}/${member.subsystem}`;
}

/** The serialised bytes of an Envelope given as a plain object (proto field names, enum names). */
export function encodeEnvelope(types, fields) {
  return Buffer.from(types.Envelope.encode(types.Envelope.fromObject(fields)).finish());
}

/** An Envelope decoded from its bytes, as a plain object with every field present. */
export function decodeEnvelope(types, bytes) {
  const message = types.Envelope.decode(bytes);
  return types.Envelope.toObject(message, { longs: Number, enums: String, bytes: Buffer, defaults: true });
}

/** An Exchange client authenticated as one member: mTLS with its client certificate. */
export function exchangeClient(protosDir, target, tls) {
  const definition = protoLoader.loadSync(EXCHANGE_PROTO, {
    includeDirs: [protosDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { Exchange } = grpc.loadPackageDefinition(definition).yrd.v1;
  const credentials = grpc.credentials.createSsl(
    readFileSync(tls.ca),
    readFileSync(tls.key),
    readFileSync(tls.cert),
  );
  // the dev server certificate names localhost (and 127.0.0.1, ::1); TLS SNI takes no IP
  return new Exchange(target, credentials, { 'grpc.ssl_target_name_override': 'localhost' });
}

/** A unary call as a promise, ended by the deadline (DEADLINE_EXCEEDED) at the latest. */
export function unary(client, method, request, seconds) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + seconds * 1000 }, (error, reply) => {
      if (error) reject(error);
      else resolve(reply);
    });
  });
}

export const Status = grpc.status;
