// Recompute qgov's event hashes, the hash chain and the Merkle root with Node's standard
// library only (no npm packages). Usage:
//
//   qgov audit events --json > events.json
//   qgov audit checkpoint > checkpoint.txt          # optional: a signed checkpoint note
//   node verify-events.mjs events.json [checkpoint.txt]
//
// Prints one line per problem and exits 1 on the first bad event; prints "ok ..." and exits 0
// when every event's hash, every link and (if given) the checkpoint's root hash agree.
// The note's Ed25519 signature is checked separately ('qgov audit verify-proof', or any C2SP
// signed-note tool); this script checks that the events are exactly what it commits to.
// See verify-with-node.md.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

// RFC 8785 (JCS) for JSON values as parsed by JSON.parse: keys sorted by UTF-16 code units
// (JavaScript's default sort), numbers and strings serialised exactly as JSON.stringify does
// (ECMAScript's Number-to-String is the form RFC 8785 prescribes).
function jcs(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(",")}}`;
}

// qgov.event/v1 (events written before the JCS switch): the same, but null members dropped.
// Python wrote floats with repr(); JSON.stringify writes the same for floats from 1e-4 up to
// 1e16 (and any integer up to 2^53), but spells others differently (1e-05 vs 0.00001, -0.0
// vs 0): a v1 event carrying such a float is reported as a mismatch here, while qgov verifies
// it. v2 (RFC 8785) has no such gap.
function dropNulls(value) {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropNulls(v)]),
  );
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest();

function eventHash(event) {
  const body = {
    schema: event.schema,
    seq: event.seq,
    event_id: event.event_id,
    type: event.type,
    occurred_at: event.occurred_at,
    actor_ref: event.actor_ref,
    subjects: event.subjects,
    payload: event.payload,
    prev_hash: event.prev_hash,
  };
  if (event.schema === "qgov.event/v2") return sha256(Buffer.from(jcs(body), "utf8")).toString("hex");
  if (event.schema === "qgov.event/v1") return sha256(Buffer.from(jcs(dropNulls(body)), "utf8")).toString("hex");
  throw new Error(`event #${event.seq}: unknown schema ${JSON.stringify(event.schema)}`);
}

// RFC 6962 Merkle tree hash over the leaves SHA-256(0x00 || event hash).
function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.concat([Buffer.from([1]), merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k))]));
}

function main([eventsFile, checkpointFile]) {
  if (!eventsFile) {
    console.error("usage: node verify-events.mjs EVENTS.json [CHECKPOINT.txt]");
    return 2;
  }
  const { events } = JSON.parse(readFileSync(eventsFile, "utf8"));
  let prev = "0".repeat(64);
  const leaves = [];
  for (const [i, event] of events.entries()) {
    if (event.seq !== i + 1) return fail(`event #${event.seq}: expected sequence number ${i + 1}`);
    if (event.prev_hash !== prev) return fail(`event #${event.seq}: prev_hash does not match event #${i}`);
    const recomputed = eventHash(event);
    if (recomputed !== event.hash) return fail(`event #${event.seq}: content hashes to ${recomputed}, stored ${event.hash}`);
    leaves.push(sha256(Buffer.concat([Buffer.from([0]), Buffer.from(event.hash, "hex")])));
    prev = event.hash;
  }
  let summary = `ok ${events.length} events, head ${prev}`;
  if (checkpointFile) {
    const [, size, root] = readFileSync(checkpointFile, "utf8").split("\n");
    const n = Number(size);
    if (!(n <= leaves.length)) return fail(`checkpoint covers ${n} events but the export holds ${leaves.length}`);
    const ours = merkleRoot(leaves.slice(0, n)).toString("base64");
    if (ours !== root) return fail(`checkpoint of ${n} events: root ${root}, the events give ${ours}`);
    summary += `, checkpoint of ${n} events matches`;
  }
  console.log(summary);
  return 0;
}

function fail(message) {
  console.log(`FAIL ${message}`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
