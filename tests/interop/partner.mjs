// A partner system in Node.js against a real `yrdgw serve --dev`, written from protos/ and
// docs/ only (docs/dev-layout.md says where the dev keys and certificates are).
//
// Steps (each a named check; the first that fails ends the run with exit 1):
//   (1) registry  load the signed registry, verified with the governance key
//   (2) submit    as Jiangsu: a case.submit in its dialect to Shanghai, signed with SM2 over
//                 the exact Envelope bytes; the receipt verified
//   (3) pull      as Shanghai: the delivery, sender signature, attestation (when present),
//                 receipt and log entry verified; acked ACCEPTED
//   (4) answers   Shanghai answers the case (in_reply_to), and asks Jiangsu (push) a
//                 matter.lookup whose answer must come back on Pull with in_reply_to
//   (5) status    GetStatus of the exchanges above
// Output: one JSON line. "answers" and "status" say "not supported by server" when the
// server answers UNIMPLEMENTED or nothing arrives in time.
//
// Environment: YRD_GRPC_TARGET (host:port), YRD_DEV_DIR (<data_dir>/dev), YRD_PROTOS
// (default: ../../protos from here), YRD_WAIT_SECONDS (default 30), YRD_ANSWER_WAIT_SECONDS
// (default 20).

import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateKeyFromPem } from './lib/der.mjs';
import { verifyDelivery, verifySigned } from './lib/delivery.mjs';
import { encodeEnvelope, exchangeClient, loadTypes, memberProto, Status, unary } from './lib/gateway.mjs';
import { PullSession } from './lib/pull.mjs';
import { memberText, Registry } from './lib/registry.mjs';
import { keyId, sign, sm3 } from './lib/sm.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TARGET = need('YRD_GRPC_TARGET');
const DEV = need('YRD_DEV_DIR');
const PROTOS = process.env.YRD_PROTOS ?? join(HERE, '..', '..', 'protos');
const WAIT = Number(process.env.YRD_WAIT_SECONDS ?? 30);
const ANSWER_WAIT = Number(process.env.YRD_ANSWER_WAIT_SECONDS ?? 20);
const NOT_SUPPORTED = 'not supported by server';
const JSON_UTF8 = 'application/json; charset=utf-8';

// A Jiangsu case in its own dialect (docs/adapters.md: camelCase fields, local matter codes,
// "yyyy-MM-dd HH:mm:ss" times). SAMPLE values: no real person.
const JS_MATTER = 'JS-320000-0001';
const JS_CASE = {
  caseNo: `G60-SZ-2026-${randomBytes(3).toString('hex')}`,
  matterCode: JS_MATTER,
  applicant: { personKey: 'pk:yrd:7f3a9c0e5b1d2468', maskedName: '李*华' },
  handleMode: 'PROXY',
  attachments: [{ materialId: 'M01', materialName: '申请书', sm3Digest: sm3(Buffer.from('m01')).toString('hex') }],
  windowCity: '苏州',
  submitTime: '2026-11-28 10:15:00',
};
const LOOKUP_MATTER = '010010300100';

function need(name) {
  const value = process.env[name];
  if (!value) fail('setup', new Error(`environment variable ${name} is not set`));
  return value;
}

function fail(check, error) {
  const detail = error?.details ?? error?.message ?? String(error);
  process.stdout.write(`${JSON.stringify({ ok: false, failed: check, error: detail })}\n`);
  process.exit(1);
}

/** Runs one named check: any exception fails the run under that name. */
async function check(name, fn) {
  try {
    return await fn();
  } catch (error) {
    return fail(name, error);
  }
}

/**
 * Whether the server lacks the method: UNIMPLEMENTED, or -- as the gateway's guard reports
 * the generated servicer's default today -- INTERNAL naming NotImplementedError.
 */
function unsupported(error) {
  if (error?.code === Status.UNIMPLEMENTED) return true;
  return error?.code === Status.INTERNAL && /\(NotImplementedError\)/.test(error.details ?? '');
}

/** One dev member as this partner sees it: registry entry, signing key, gRPC client. */
function partner(types, registry, region) {
  const entry = registry.member(region);
  const { d, publicKey } = privateKeyFromPem(readFileSync(join(DEV, 'keys', `member-${region}.pem`), 'utf8'));
  if (!publicKey) throw new Error(`member-${region}.pem carries no public key`);
  const kid = keyId(publicKey);
  if (!entry.keys.some((k) => k.key_id === kid)) throw new Error(`${region}'s key ${kid} is not in the registry`);
  const tls = {
    ca: join(DEV, 'tls', 'ca.crt'),
    cert: join(DEV, 'tls', `client-${region}.crt`),
    key: join(DEV, 'tls', `client-${region}.key`),
  };
  const client = exchangeClient(PROTOS, TARGET, tls);
  return {
    entry,
    text: memberText(entry.id),
    client,
    /** A SignedEnvelope: the Envelope serialised once, those bytes signed. */
    envelope(fields) {
      const now = Date.now();
      const bytes = encodeEnvelope(types, {
        exchange_id: randomUUID(),
        sender: memberProto(entry.id),
        payload_digest: sm3(fields.payload),
        payload_content_type: JSON_UTF8,
        dialect: entry.delivery.dialect,
        created_at: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
        nonce: randomBytes(16),
        ...fields,
      });
      return { envelope: bytes, signature: sign(bytes, d, publicKey), key_id: kid };
    },
  };
}

/** GetStatus until `done(status)` or the deadline; the last status seen. */
async function statusUntil(client, exchangeId, done) {
  const deadline = Date.now() + WAIT * 1000;
  for (;;) {
    const status = await unary(client, 'GetStatus', { exchange_id: exchangeId }, WAIT);
    if (done(status) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main() {
  const results = {};
  const types = loadTypes(PROTOS);

  // (1) registry: the signed registry, checked with the governance key given out of band
  const registry = await check('registry', () =>
    Registry.load(join(DEV, 'registry.json'), readFileSync(join(DEV, 'keys', 'governance.pub'), 'utf8')));
  const js = await check('registry', () => partner(types, registry, 'JS'));
  const sh = await check('registry', () => partner(types, registry, 'SH'));
  results.registry = 'verified';
  results.js_dialect = js.entry.delivery.dialect;

  // (2) submit: Jiangsu's case to Shanghai; the receipt and its log entry verified
  const request = js.envelope({
    recipient: memberProto(sh.entry.id),
    kind: 'case.submit',
    matter_ref: JS_MATTER,
    payload: Buffer.from(JSON.stringify(JS_CASE), 'utf8'),
  });
  const receipt = await check('submit', () => unary(js.client, 'Submit', request, WAIT));
  const submitted = await check('receipt', () => verifySigned(types, registry, request, receipt));
  const requestId = submitted.envelope.exchange_id;
  results.submit = { leaf_index: Number(receipt.leaf_index), tree_size: Number(receipt.tree_size) };

  // (3) pull: Shanghai receives it; everything else on its stream is acked and counted
  const pull = new PullSession(sh.client, memberProto(sh.entry.id));
  let others = 0;
  const ackOther = (delivery) => {
    others += 1;
    pull.ack(delivery);
  };
  const isExchange = (id) => (d) => d.receipt?.exchange_id === id;
  const delivery = await check('pull', async () => {
    const found = await pull.waitFor(isExchange(requestId), WAIT, ackOther);
    if (!found) throw new Error(`exchange ${requestId} not delivered within ${WAIT} s`);
    return found;
  });
  const got = await check('pull', () => verifyDelivery(types, registry, delivery, sh.entry));
  results.attestation = got.statement ? 'verified' : 'absent';
  if (got.statement) {
    await check('attestation', () => {
      const { statement } = got;
      if (statement.relayed !== false || statement.channel !== 'grpc-mtls') {
        throw new Error(`expected a member's own submission (grpc-mtls, not relayed), got ${statement.channel}`);
      }
      const canonical = JSON.parse(delivery.payload.toString('utf8'));
      if (canonical.case_id !== JS_CASE.caseNo) throw new Error('delivered payload is not the case, in canonical form');
    });
  }
  pull.ack(delivery);
  results.pull = { attempt: delivery.attempt, dialect: delivery.dialect || 'absent' };

  // (4) answers: (a) Shanghai answers the case; (b) Shanghai asks Jiangsu (push) a matter.lookup
  const answer = sh.envelope({
    recipient: memberProto(js.entry.id),
    kind: 'case.status',
    in_reply_to: requestId,
    payload: Buffer.from(JSON.stringify({ case_id: JS_CASE.caseNo, status: 'accepted', time: '2026-11-28T10:20:00+08:00', note: null })),
  });
  const answerReceipt = await check('answers', () => unary(sh.client, 'Submit', answer, WAIT));
  const answered = await check('answers', () => verifySigned(types, registry, answer, answerReceipt));
  const lookup = sh.envelope({
    recipient: memberProto(js.entry.id),
    kind: 'matter.lookup',
    matter_ref: LOOKUP_MATTER,
    payload: Buffer.from(JSON.stringify({ matter_code: LOOKUP_MATTER })),
  });
  const lookupReceipt = await check('answers', () => unary(sh.client, 'Submit', lookup, WAIT));
  const lookupId = (await check('answers', () => verifySigned(types, registry, lookup, lookupReceipt))).envelope.exchange_id;
  const isAnswer = (d) => d.envelope && d.envelope.envelope.length > 0 && repliesTo(types, d, lookupId);
  const reply = await check('answers', () => pull.waitFor(isAnswer, ANSWER_WAIT, ackOther));
  if (reply) {
    await check('answers', () => {
      const r = verifyDelivery(types, registry, reply, sh.entry);
      if (r.envelope.kind !== 'matter' || r.sender !== js.text) throw new Error(`answer: expected a matter from ${js.text}, got ${r.envelope.kind} from ${r.sender}`);
      if (r.statement && (r.statement.relayed !== true || !['https-pinned', 'http-dev'].includes(r.statement.channel))) {
        throw new Error(`answer of a push member: attestation must say relayed over https-pinned or http-dev, got ${r.statement.channel}`);
      }
    });
    pull.ack(reply);
  }

  // (5) status: the request, the lookup, and what Shanghai answered
  let statuses = null;
  try {
    // without answers the case only gets to DELIVERED: no point waiting for more
    const settled = reply ? ['EXCHANGE_STATE_ANSWERED'] : ['EXCHANGE_STATE_DELIVERED', 'EXCHANGE_STATE_ANSWERED'];
    const caseStatus = await statusUntil(js.client, requestId, (s) => settled.includes(s.state));
    const lookupStatus = await statusUntil(sh.client, lookupId, (s) => !reply || s.state === 'EXCHANGE_STATE_ANSWERED');
    statuses = { case: caseStatus, lookup: lookupStatus };
  } catch (error) {
    if (!unsupported(error)) fail('status', error);
  }
  if (statuses) {
    await check('status', () => {
      const s = statuses.case;
      if (s.exchange_id !== requestId || s.kind !== 'case.submit' || !s.expects_answer) throw new Error('case status names another exchange or kind');
      if (!s.delivered_at || Number(s.attempts) < 1) throw new Error('case status: not delivered after an ACCEPTED ack');
    });
    results.status = { case: statuses.case.state, lookup: statuses.lookup.state };
  } else {
    results.status = NOT_SUPPORTED;
  }
  results.answers = await check('answers', () => answersOutcome(statuses, answered, reply, lookupId));
  results.other_deliveries = others;
  pull.close();
  process.stdout.write(`${JSON.stringify({ ok: true, ...results })}\n`);
  process.exit(0);
}

/** Whether `delivery` answers `requestId` (its envelope's in_reply_to); verified later. */
function repliesTo(types, delivery, requestId) {
  try {
    return types.Envelope.decode(delivery.envelope.envelope).in_reply_to === requestId;
  } catch {
    return false;
  }
}

/**
 * "ok" when the server supports answers end to end: the lookup's answer came back on Pull
 * and both requests are ANSWERED by the right exchange; NOT_SUPPORTED when the server has no
 * GetStatus or sent no answer in time; anything in between is a failure.
 */
function answersOutcome(statuses, answered, reply, lookupId) {
  if (!statuses || !reply) return NOT_SUPPORTED;
  const answerId = answered.envelope.exchange_id;
  if (statuses.case.state !== 'EXCHANGE_STATE_ANSWERED' || statuses.case.answer_exchange_id !== answerId) {
    throw new Error(`case: expected ANSWERED by ${answerId}, got ${statuses.case.state} ${statuses.case.answer_exchange_id}`);
  }
  const replyId = reply.receipt.exchange_id;
  if (statuses.lookup.state !== 'EXCHANGE_STATE_ANSWERED' || statuses.lookup.answer_exchange_id !== replyId) {
    throw new Error(`lookup ${lookupId}: expected ANSWERED by ${replyId}, got ${statuses.lookup.state}`);
  }
  return 'ok';
}

main().catch((error) => fail('unexpected', error));
