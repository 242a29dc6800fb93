// Self-test: two Fedify peers on loopback.  A follows B, B auto-accepts,
// A must record the Accept with misskeyVerified: true, lookups must work,
// a tampered delivery must be refused, Undo(Follow) must arrive verified.
// Exits non-zero on failure.

import { spawn } from "node:child_process";
import { createHash, createSign, generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import process from "node:process";

const PEER = fileURLToPath(new URL("./peer.mjs", import.meta.url));
const children = [];
let passed = 0;
let failed = 0;

function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail === undefined ? "" : ": " + JSON.stringify(detail).slice(0, 2000)}`);
  }
}

async function startPeer(label) {
  const child = spawn(process.execPath, [PEER], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  child.stderr.on("data", (d) => process.stderr.write(`[${label}] ${d}`));
  const rl = createInterface({ input: child.stdout });
  const line = await Promise.race([
    once(rl, "line").then(([l]) => l),
    once(child, "exit").then(([code]) => {
      throw new Error(`peer ${label} exited (${code}) before being ready`);
    }),
  ]);
  rl.on("line", (l) => check(`peer ${label} prints nothing more on stdout`, false, l));
  const ready = JSON.parse(line);
  if (ready.ready !== true || typeof ready.port !== "number") throw new Error(`bad ready line: ${line}`);
  return { ...ready, base: `http://127.0.0.1:${ready.port}`, child };
}

async function call(peer, method, path, body) {
  const res = await fetch(`${peer.base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

async function waitFor(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const [a, b] = await Promise.all([startPeer("A"), startPeer("B")]);
  check("ready line has actor URL", a.actor === `${a.base}/users/peer` && b.actor === `${b.base}/users/peer`, [a.actor, b.actor]);

  // WebFinger (served by Fedify)
  const wf = await fetch(`${b.base}/.well-known/webfinger?resource=acct:peer@127.0.0.1:${b.port}`).then((r) => r.json());
  check("WebFinger resolves acct:peer@127.0.0.1:N", wf.links?.some((l) => l.rel === "self" && l.href === b.actor), wf);

  // Lookup of B's actor from A
  const lk = await call(a, "POST", "/control/lookup", { url: b.actor });
  check("lookup of B's actor is a Person", lk.status === 200 && lk.json.ok === true && lk.json.type === "Person" && lk.json.id === b.actor, lk.json);
  check("lookup answers the actor's JSON-LD with its publicKey", lk.json.json?.publicKey?.id === `${b.actor}#main-key`, lk.json.json?.publicKey);
  const lkAcct = await call(a, "POST", "/control/lookup", { url: `acct:peer@127.0.0.1:${b.port}` });
  check("lookup of acct:peer@127.0.0.1:N (WebFinger over http)", lkAcct.json.ok === true && lkAcct.json.id === b.actor, lkAcct.json);
  const lk404 = await call(a, "POST", "/control/lookup", { url: `${b.base}/users/nobody` });
  check("lookup of a missing actor is ok:false", lk404.status === 200 && lk404.json.ok === false, lk404.json);

  // A follows B; B auto-accepts
  const fo = await call(a, "POST", "/control/follow", { target: b.actor });
  check("follow answers followId and inbox", fo.status === 200 && fo.json.followId && fo.json.inbox === `${b.actor}/inbox`, fo.json);

  const accept = await waitFor(async () => {
    const r = await call(a, "GET", "/control/received");
    return r.json.find((x) => x.type === "Accept");
  });
  check("A records B's Accept", accept, accept);
  check("Accept is from B", accept?.actor === b.actor, accept?.actor);
  check("Accept is misskeyVerified", accept?.misskeyVerified === true, accept);
  const acceptedObject = accept?.json?.object;
  check("Accept's object is A's Follow", (acceptedObject?.id ?? acceptedObject) === fo.json.followId, acceptedObject);

  const recB = await call(b, "GET", "/control/received");
  const follow = recB.json.find((x) => x.type === "Follow");
  check("B records A's Follow, misskeyVerified", follow?.misskeyVerified === true && follow.id === fo.json.followId, follow);
  check("Follow carries an LD signature and an integrity proof", follow?.raw?.signature?.type === "RsaSignature2017" && follow?.raw?.proof?.cryptosuite === "eddsa-jcs-2022", follow?.raw);

  // A tampered delivery (body changed, headers replayed) must be refused by
  // Fedify (401) and by the independent check.
  const sent = await call(a, "GET", "/control/sent");
  const orig = sent.json.find((e) => e.body?.type === "Follow");
  const tamperedBody = { ...orig.body, id: `${orig.body.id}-tampered` };
  delete tamperedBody.signature;
  delete tamperedBody.proof;
  const hdrs = { ...orig.headers };
  delete hdrs.host; // fetch sets it
  const tampered = await fetch(orig.url, { method: "POST", headers: hdrs, body: JSON.stringify(tamperedBody) });
  check("tampered delivery is refused by Fedify", tampered.status === 401, tampered.status);
  const del = await call(b, "GET", "/control/deliveries");
  const tdel = del.json.find((d) => d.activityId === tamperedBody.id);
  check("tampered delivery fails the misskey check", tdel && tdel.misskeyVerified === false && /Digest/.test(tdel.misskeyError ?? ""), tdel);
  const recB2 = await call(b, "GET", "/control/received");
  check("tampered delivery is not recorded", !recB2.json.some((x) => x.id === tamperedBody.id), recB2.json.map((x) => x.id));

  // Unfollow -> Undo(Follow)
  const un = await call(a, "POST", "/control/unfollow", { target: b.actor });
  check("unfollow answers undoId", un.status === 200 && un.json.undoId && un.json.followId === fo.json.followId, un.json);
  const undo = await waitFor(async () => (await call(b, "GET", "/control/received")).json.find((x) => x.type === "Undo"));
  check("B records the Undo, misskeyVerified", undo?.misskeyVerified === true && undo?.actor === a.actor, undo);
  const un2 = await call(a, "POST", "/control/unfollow", { target: b.actor });
  check("second unfollow is 404", un2.status === 404, un2);

  // Follow of an unreachable target fails with 502
  const bad = await call(a, "POST", "/control/follow", { target: "http://127.0.0.1:9/users/x" });
  check("follow of an unreachable actor answers 502", bad.status === 502 && typeof bad.json.error === "string", bad);

  // A foreign, Maillage-like sender (not Fedify): a Group whose publicKey has
  // no "type", an inline @context, and a Create(Note) signed over
  // "(request-target) host date digest" with rsa-sha256.
  const foreign = await startForeignServer();
  try {
    const lg = await call(b, "POST", "/control/lookup", { url: foreign.actor });
    check("lookup of a Maillage-like Group", lg.json.ok === true && lg.json.type === "Group" && lg.json.name === "Pôle de test", lg.json);
    const le = await call(b, "POST", "/control/lookup", { url: `${foreign.base}/events/1` });
    check("lookup of an Event", le.json.ok === true && le.json.type === "Event", le.json);
    const note = {
      id: `${foreign.base}/projects/1`,
      type: "Note",
      attributedTo: foreign.actor,
      content: "<p>Un projet</p>",
      to: ["https://www.w3.org/ns/activitystreams#Public"],
    };
    const create = {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", { ptce: "urn:maillage:ptce#", ptceKind: "ptce:ptceKind" }],
      id: `${foreign.base}/activities/create-1`,
      type: "Create",
      actor: foreign.actor,
      to: note.to,
      object: { ...note, ptceKind: "project" },
    };
    const status = await foreign.deliver(`${b.base}/users/peer/inbox`, create);
    check("Fedify accepts a Maillage-style signed Create", status === 202, status);
    const rec = (await call(b, "GET", "/control/received")).json.find((x) => x.id === create.id);
    check("the Create is recorded, misskeyVerified", rec?.type === "Create" && rec.misskeyVerified === true && rec.actor === foreign.actor, rec);
    const status2 = await foreign.deliver(`${b.base}/inbox`, { ...create, id: `${foreign.base}/activities/create-2` });
    check("shared inbox accepts it too", status2 === 202, status2);
    const rec2 = (await call(b, "GET", "/control/received")).json.find((x) => x.id === `${foreign.base}/activities/create-2`);
    check("shared-inbox delivery recorded, misskeyVerified", rec2?.misskeyVerified === true && rec2.inbox === "/inbox", rec2);
    const status3 = await foreign.deliver(`${b.base}/inbox`, { ...create, id: `${foreign.base}/activities/create-3` }, { badSignature: true });
    check("a bad signature is refused by Fedify", status3 === 401, status3);
    const d3 = (await call(b, "GET", "/control/deliveries")).json.find((d) => d.activityId === `${foreign.base}/activities/create-3`);
    check("a bad signature fails the misskey check", d3?.misskeyVerified === false && /signature/.test(d3.misskeyError ?? ""), d3);
  } finally {
    foreign.server.close();
  }

  // reset
  await call(a, "POST", "/control/reset");
  const after = await call(a, "GET", "/control/received");
  check("reset clears the record", Array.isArray(after.json) && after.json.length === 0, after.json);

  // clean exit on SIGTERM
  for (const p of [a, b]) {
    const exited = once(p.child, "exit");
    p.child.kill("SIGTERM");
    const [code, signal] = await exited;
    check(`peer exits cleanly on SIGTERM (port ${p.port})`, code === 0, { code, signal });
  }
}

async function startForeignServer() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = publicKey.export({ type: "spki", format: "pem" });
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${server.address().port}`;
    const docs = {
      "/poles/test": {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", { ptce: "urn:maillage:ptce#", schema: "http://schema.org#", themes: "ptce:themes" }],
        id: `${base}/poles/test`,
        type: "Group",
        preferredUsername: "test",
        name: "Pôle de test",
        summary: "<p>Un pôle</p>",
        inbox: `${base}/poles/test/inbox`,
        outbox: `${base}/poles/test/outbox`,
        followers: `${base}/poles/test/followers`,
        endpoints: { sharedInbox: `${base}/inbox` },
        publicKey: { id: `${base}/poles/test#main-key`, owner: `${base}/poles/test`, publicKeyPem: pem },
        manuallyApprovesFollowers: false,
        themes: ["renewable-energy"],
      },
      "/events/1": {
        "@context": "https://www.w3.org/ns/activitystreams",
        id: `${base}/events/1`,
        type: "Event",
        name: "Une rencontre",
        startTime: "2026-12-01T10:00:00Z",
        attributedTo: `${base}/poles/test`,
      },
    };
    const doc = docs[new URL(req.url, base).pathname];
    if (!doc) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/activity+json" }).end(JSON.stringify(doc));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${server.address().port}`;
  const actor = `${base}/poles/test`;
  async function deliver(inbox, activity, { badSignature = false } = {}) {
    const body = JSON.stringify(activity);
    const u = new URL(inbox);
    const date = new Date().toUTCString();
    const digest = "SHA-256=" + createHash("sha256").update(body).digest("base64");
    const signingString = [
      `(request-target): post ${u.pathname}`,
      `host: ${u.host}`,
      `date: ${date}`,
      `digest: ${digest}`,
    ].join("\n");
    let sig = createSign("sha256").update(signingString).sign(privateKey, "base64");
    if (badSignature) sig = createSign("sha256").update(signingString + "x").sign(privateKey, "base64");
    const res = await fetch(inbox, {
      method: "POST",
      headers: {
        "content-type": "application/activity+json",
        date,
        digest,
        signature: `keyId="${actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${sig}"`,
      },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  }
  return { server, base, actor, deliver };
}

const timer = setTimeout(() => {
  console.log("not ok - self-test timed out");
  for (const c of children) c.kill("SIGKILL");
  process.exit(1);
}, 90000);

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - ${e?.stack ?? e}`);
} finally {
  clearTimeout(timer);
  for (const c of children) if (c.exitCode == null && c.signalCode == null) c.kill("SIGTERM");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
