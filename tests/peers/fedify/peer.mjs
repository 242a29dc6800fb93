// An independent ActivityPub follower peer built on Fedify 1.5, used by
// Maillage's interoperability tests.  See README.md for the control API.
//
// Everything listens on 127.0.0.1 and every outgoing fetch() is refused unless
// it goes to a loopback address or a name under .localhost.
//
// With TLS_CERT and TLS_KEY (PEM files) it serves HTTPS instead, as
// https://PEER_HOST:PORT; Node then trusts a private CA through
// NODE_EXTRA_CA_CERTS, and PEER_HOST must resolve to 127.0.0.1.

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, randomUUID } from "node:crypto";
import process from "node:process";
import {
  Accept,
  Activity,
  Announce,
  Create,
  createFederation,
  Delete,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  getDocumentLoader,
  isActor,
  Like,
  MemoryKvStore,
  Person,
  Reject,
  Undo,
  Update,
} from "@fedify/fedify";
import { configure as configureLogging } from "@logtape/logtape";
import {
  parseRequestSignature,
  verifyDigestHeader,
  verifyDraftSignature,
} from "@misskey-dev/node-http-message-signatures";

const IDENTIFIER = "peer";
const HOST = "127.0.0.1";
const TLS = process.env.TLS_CERT != null && process.env.TLS_KEY != null;
// The name in the peer's own URLs; with TLS, the one its certificate is for.
const PUBLIC_HOST = process.env.PEER_HOST ?? HOST;

// ---------------------------------------------------------------------------
// Logging: stderr only (stdout carries exactly one JSON line, the ready line).
// FEDIFY_LOG=debug|info|warning|error turns on Fedify's own logs.

function log(...args) {
  process.stderr.write(
    `[fedify-peer] ${args.map((a) => (typeof a === "string" ? a : a instanceof Error ? (a.stack ?? String(a)) : JSON.stringify(a))).join(" ")}\n`,
  );
}

if (process.env.FEDIFY_LOG) {
  await configureLogging({
    contextLocalStorage: new AsyncLocalStorage(),
    sinks: {
      stderr(record) {
        const msg = record.message
          .map((part, i) => (i % 2 === 0 ? part : typeof part === "string" ? part : safeJson(part)))
          .join("");
        process.stderr.write(`[${record.level}] ${record.category.join("·")}: ${msg}\n`);
      },
    },
    loggers: [
      { category: "fedify", lowestLevel: process.env.FEDIFY_LOG, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

function safeJson(v) {
  try {
    return v instanceof Error ? (v.stack ?? String(v)) : JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------
// Loopback-only outgoing traffic.  Fedify resolves the well-known JSON-LD
// contexts from its preloaded copies, so nothing legitimate leaves the host.

function isLoopbackHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

const realFetch = globalThis.fetch;
const sentLog = []; // outgoing POSTs, as sent (for debugging / inspection)
globalThis.fetch = async function loopbackOnlyFetch(input, init) {
  const req = new Request(input, init);
  const url = new URL(req.url);
  if (!isLoopbackHost(url.hostname)) {
    log(`refusing non-loopback fetch of ${url.href}`);
    throw new TypeError(`fedify-peer: refusing to fetch non-loopback URL ${url.href}`);
  }
  if (req.method === "POST") {
    const body = await req.clone().text();
    const entry = {
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body: tryParseJson(body),
      status: null,
    };
    sentLog.push(entry);
    const res = await realFetch(req);
    entry.status = res.status;
    return res;
  }
  return realFetch(req);
};

function tryParseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------------------
// State

const received = []; // verified activities, oldest first (step 3)
const deliveries = []; // every inbox POST with Fedify's answer
const misskeyOutcomes = new Map(); // normalized activity id -> outcome
const follows = new Map(); // target actor URL -> { follow, followId, inbox, actorId }
const followers = new Map(); // follower actor id -> { id, inboxId, endpoints }

function normId(id) {
  try {
    return new URL(String(id)).href;
  } catch {
    return String(id);
  }
}

// ---------------------------------------------------------------------------
// Independent draft-cavage verification with @misskey-dev/node-http-message-signatures

// The key document; over HTTPS the fetch is signed by the peer, as servers that
// require signed fetches expect (Fedify's own key fetches are signed too).
async function fetchKeyDocument(docUrl) {
  if (TLS) {
    const ctx = federation.createContext(new URL(origin), undefined);
    const loader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
    return (await loader(docUrl.href)).document;
  }
  const res = await fetch(docUrl.href, {
    headers: { Accept: "application/activity+json" },
    redirect: "follow",
  });
  if (!res.ok) throw new Error(`key document ${docUrl.href} answered HTTP ${res.status}`);
  return await res.json();
}

async function fetchPublicKeyPem(keyId) {
  const keyUrl = new URL(keyId);
  const docUrl = new URL(keyUrl.href);
  docUrl.hash = "";
  const doc = await fetchKeyDocument(docUrl);
  // Either the actor document with publicKey, or the key document itself.
  let key = null;
  if (doc.publicKeyPem && (doc.id === keyUrl.href || doc.id === docUrl.href)) key = doc;
  const candidates = doc.publicKey == null ? [] : Array.isArray(doc.publicKey) ? doc.publicKey : [doc.publicKey];
  if (key == null) key = candidates.find((k) => k && k.id === keyUrl.href) ?? null;
  if (key == null && candidates.length === 1) key = candidates[0];
  if (key == null || typeof key.publicKeyPem !== "string") {
    throw new Error(`no publicKey.publicKeyPem for ${keyId} in ${docUrl.href}`);
  }
  if (key.id !== keyUrl.href) {
    throw new Error(`publicKey.id ${key.id} does not match keyId ${keyId}`);
  }
  return { pem: key.publicKeyPem, owner: key.owner ?? doc.id ?? null };
}

/** Returns { misskeyVerified, misskeyError?, keyId?, algorithm?, headers? }. */
async function misskeyVerify(req, rawBody) {
  const out = { misskeyVerified: false };
  try {
    if (!req.headers["signature"]) throw new Error("no Signature header");
    const parsed = parseRequestSignature(req, {
      requiredComponents: { draft: ["(request-target)", "host", "date", "digest"] },
      clockSkew: { delay: 3600 * 1000, forward: 3600 * 1000 },
    });
    if (parsed.version !== "draft") throw new Error(`not a draft-cavage signature (${parsed.version})`);
    out.keyId = parsed.value.keyId;
    out.algorithm = parsed.value.params.algorithm ?? null;
    out.headers = parsed.value.params.headers;

    let digestError = null;
    const digestOk = await verifyDigestHeader(
      req,
      rawBody,
      { failOnNoDigest: true, algorithms: ["SHA-256"] },
      (m) => (digestError = String(m)),
    );
    // Belt and braces: recompute SHA-256 ourselves as well.
    const expected = "SHA-256=" + createHash("sha256").update(rawBody).digest("base64");
    const digestHeader = String(req.headers["digest"] ?? "");
    const ownDigestOk = digestHeader.split(",").some((p) => {
      const s = p.trim();
      const eq = s.indexOf("=");
      return eq > 0 && s.slice(0, eq).toUpperCase() === "SHA-256" && s.slice(eq + 1) === expected.slice(8);
    });
    if (!digestOk || !ownDigestOk) {
      throw new Error(`Digest mismatch (${digestError ?? "header " + JSON.stringify(digestHeader) + ", expected " + expected})`);
    }

    const { pem, owner } = await fetchPublicKeyPem(parsed.value.keyId);
    out.keyOwner = owner;
    let sigError = null;
    const ok = await verifyDraftSignature(parsed.value, pem, (m) => (sigError = String(m)));
    if (!ok) throw new Error(`signature does not verify${sigError ? ": " + sigError : ""}`);
    out.misskeyVerified = true;
  } catch (e) {
    out.misskeyVerified = false;
    out.misskeyError = e?.message ?? String(e);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Federation

// Fedify's generateCryptoKeyPair("RSASSA-PKCS1-v1_5") makes RSA-4096 keys;
// make an RSA-2048 one ourselves (what Mastodon-style servers use).
const rsaKeys = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
const ed25519Keys = await generateCryptoKeyPair("Ed25519");

let federation; // created once the port is known (origin is fixed then)

function buildFederation(origin) {
  const fed = createFederation({
    kv: new MemoryKvStore(),
    origin, // http://127.0.0.1:N, or https://PEER_HOST:N
    allowPrivateAddress: true, // all peers live on loopback
    // Fedify's default loader caches remote documents for 5 minutes in the KV
    // store; interop tests look objects up right after changing them, so use
    // the plain (uncached) loader, still allowing private addresses.
    documentLoaderFactory: (opts) =>
      getDocumentLoader({ allowPrivateAddress: true, userAgent: opts?.userAgent }),
    // no `queue`: activities are sent and received in-process, immediately
    skipSignatureVerification: false,
  });

  fed
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== IDENTIFIER) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Fedify interop peer",
        summary: "An independent ActivityPub peer (Fedify) for Maillage's interop tests.",
        url: ctx.getActorUri(identifier),
        manuallyApprovesFollowers: false,
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        followers: ctx.getFollowersUri(identifier),
        following: ctx.getFollowingUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        publicKey: keys[0].cryptographicKey, // RSA, <actor>#main-key
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) =>
      identifier === IDENTIFIER ? [rsaKeys, ed25519Keys] : [],
    );

  fed.setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) =>
    identifier === IDENTIFIER ? { items: [] } : null,
  );
  fed.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) =>
    identifier === IDENTIFIER ? { items: [...followers.values()] } : null,
  );
  fed.setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) =>
    identifier === IDENTIFIER ? { items: [...follows.values()].map((f) => new URL(f.actorId)) } : null,
  );

  const record = async (ctx, activity) => {
    const id = activity.id?.href ?? null;
    const outcome = (id && misskeyOutcomes.get(normId(id))) ?? null;
    const json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
    const entry = {
      type: json?.type ?? activity.constructor.name,
      id,
      actor: activity.actorId?.href ?? null,
      json,
      parsed: await parsedActivity(ctx, activity),
      misskeyVerified: outcome?.misskeyVerified ?? false,
    };
    if (outcome == null) entry.misskeyError = "no independent verification outcome for this activity id";
    else if (outcome.misskeyError) entry.misskeyError = outcome.misskeyError;
    if (outcome) {
      entry.raw = outcome.raw;
      entry.inbox = outcome.inbox;
      entry.keyId = outcome.keyId ?? null;
    }
    entry.receivedAt = new Date().toISOString();
    received.push(entry);
    log(`recorded ${entry.type} ${id} from ${entry.actor} (misskeyVerified=${entry.misskeyVerified})`);
    return entry;
  };

  const listeners = fed.setInboxListeners("/users/{identifier}/inbox", "/inbox");
  // Deliveries to the shared inbox: the key of the sender is fetched signed by
  // the peer, as on personal inboxes.
  if (TLS) listeners.setSharedKeyDispatcher(() => ({ identifier: IDENTIFIER }));
  for (const cls of [Accept, Reject, Create, Update, Delete, Undo, Announce, Like]) {
    listeners.on(cls, async (ctx, activity) => {
      await record(ctx, activity);
      // Undo from a follower (normally Undo(Follow)): forget that follower.
      if (cls === Undo && activity.actorId) followers.delete(activity.actorId.href);
    });
  }
  listeners.on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    // Auto-accept, so two peers can test each other.
    try {
      if (follow.id == null || follow.actorId == null) return;
      const follower = await follow.getActor(ctx);
      if (follower == null || !isActor(follower)) throw new Error("cannot resolve follower actor");
      await ctx.sendActivity(
        { identifier: IDENTIFIER },
        follower,
        new Accept({
          id: new URL(`/activities/accept/${randomUUID()}`, ctx.origin),
          actor: ctx.getActorUri(IDENTIFIER),
          // the Follow as received, without its proof or hydrated objects
          object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
        }),
        { immediate: true },
      );
      followers.set(follower.id.href, {
        id: follower.id,
        inboxId: follower.inboxId,
        endpoints: follower.endpoints,
      });
    } catch (e) {
      log("auto-Accept failed:", e);
    }
  });
  // Catch-all: Fedify dispatches along the class hierarchy up to Activity.
  listeners.on(Activity, async (ctx, activity) => {
    await record(ctx, activity);
  });
  listeners.onError((_ctx, error) => log("inbox listener error:", error));

  return fed;
}

// ---------------------------------------------------------------------------
// What Fedify's own classes make of a document.  toJsonLd() of an object that
// Fedify parsed from JSON answers the cached original JSON, so it proves
// nothing; these summaries are read from the parsed objects' properties.

function str(v) {
  return v == null ? null : String(v);
}

/** { class, id, name, summary, startTime, endTime, attributedTo, url } of a parsed object. */
function parsedSummary(obj) {
  if (obj == null) return null;
  if (obj instanceof URL) return { class: "URL", id: obj.href };
  const get = (prop) => {
    try {
      return str(obj[prop]);
    } catch {
      return null;
    }
  };
  return {
    class: obj.constructor.name,
    id: obj.id?.href ?? null,
    name: get("name"),
    summary: get("summary"),
    startTime: get("startTime"),
    endTime: get("endTime"),
    attributedTo: obj.attributionId?.href ?? null,
    url: obj.url instanceof URL ? obj.url.href : (obj.url?.href?.href ?? null),
  };
}

/** { class, object } of a parsed activity; its object as Fedify parsed it (embedded), or
 *  fetched when the activity only names it. */
async function parsedActivity(ctx, activity) {
  const out = { class: activity.constructor.name, object: null };
  try {
    const object = await activity.getObject({
      documentLoader: ctx.documentLoader,
      contextLoader: ctx.contextLoader,
    });
    out.object = parsedSummary(object);
  } catch (e) {
    out.objectError = e?.message ?? String(e);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Control API

// Fedify 1.5 always queries WebFinger over https for acct: handles, which
// cannot work against plain-http loopback servers.  So when lookupObject()
// finds nothing for a handle (acct:user@host or @user@host), query
// http://host/.well-known/webfinger ourselves and look up its "self" link.
// Over HTTPS there is no such fallback: Fedify's own look-up must work.
const HANDLE_RE = /^(?:acct:|@)?([^@\s/]+)@([^@\s/]+)$/;

async function lookup(ctx, identifier, options = {}) {
  const obj = await ctx.lookupObject(identifier, options);
  if (obj != null) return { obj, via: "lookupObject" };
  const m = HANDLE_RE.exec(identifier);
  if (m == null || TLS) return { obj: null };
  const resource = `acct:${m[1]}@${m[2]}`;
  const wf = new URL(`http://${m[2]}/.well-known/webfinger`);
  wf.searchParams.set("resource", resource);
  const res = await fetch(wf, { headers: { Accept: "application/jrd+json" } });
  if (!res.ok) throw new Error(`WebFinger ${wf.href} answered HTTP ${res.status}`);
  const jrd = await res.json();
  const self = (jrd.links ?? []).find(
    (l) =>
      l.rel === "self" &&
      (l.type === "application/activity+json" || /^application\/ld\+json/.test(l.type ?? "")),
  );
  if (self?.href == null) throw new Error(`WebFinger ${wf.href} has no ActivityPub self link`);
  return { obj: await ctx.lookupObject(self.href), via: "webfinger-http" };
}

async function controlFollow(body) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const target = body?.target;
  if (typeof target !== "string") return [400, { error: "body must be {\"target\": \"<actor URL>\"}" }];
  let actor;
  let via;
  try {
    const options = body?.signed === true
      ? { documentLoader: await ctx.getDocumentLoader({ identifier: IDENTIFIER }) }
      : {};
    ({ obj: actor, via } = await lookup(ctx, target, options));
  } catch (e) {
    return [502, { error: e?.message ?? String(e) }];
  }
  if (actor == null) return [502, { error: `lookup of ${target} returned nothing` }];
  if (!isActor(actor)) return [502, { error: `${target} is a ${actor.constructor.name}, not an actor` }];
  if (actor.inboxId == null) return [502, { error: `${target} has no inbox` }];
  const follow = new Follow({
    id: new URL(`/activities/follow/${randomUUID()}`, ctx.origin),
    actor: ctx.getActorUri(IDENTIFIER),
    object: actor.id,
  });
  try {
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, follow, { immediate: true });
  } catch (e) {
    return [502, { error: e?.message ?? String(e), followId: follow.id.href, inbox: actor.inboxId.href }];
  }
  follows.set(target, { follow, followId: follow.id.href, inbox: actor.inboxId.href, actorId: actor.id.href, actor });
  return [200, { followId: follow.id.href, inbox: actor.inboxId.href, actor: actor.id.href, via }];
}

async function controlUnfollow(body) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const target = body?.target;
  if (typeof target !== "string") return [400, { error: "body must be {\"target\": \"<actor URL>\"}" }];
  const f = follows.get(target) ?? [...follows.values()].find((x) => x.actorId === target);
  if (f == null) return [404, { error: `no earlier follow of ${target}` }];
  const undo = new Undo({
    id: new URL(`/activities/undo/${randomUUID()}`, ctx.origin),
    actor: ctx.getActorUri(IDENTIFIER),
    object: f.follow,
  });
  try {
    await ctx.sendActivity({ identifier: IDENTIFIER }, f.actor, undo, { immediate: true });
  } catch (e) {
    return [502, { error: e?.message ?? String(e), undoId: undo.id.href, inbox: f.inbox }];
  }
  for (const [k, v] of follows) if (v === f) follows.delete(k);
  return [200, { undoId: undo.id.href, followId: f.followId, inbox: f.inbox }];
}

async function controlLookup(body) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const url = body?.url;
  if (typeof url !== "string") return [400, { ok: false, error: "body must be {\"url\": \"...\"}" }];
  try {
    // {"signed": true}: fetched with the peer's signature, as for a server that
    // requires signed fetches.
    const options = body?.signed === true
      ? { documentLoader: await ctx.getDocumentLoader({ identifier: IDENTIFIER }) }
      : {};
    const { obj, via } = await lookup(ctx, url, options);
    if (obj == null) return [200, { ok: false, error: `lookupObject(${url}) returned null` }];
    const json = await obj.toJsonLd({ contextLoader: ctx.contextLoader });
    const name = obj.name == null ? null : String(obj.name);
    return [
      200,
      { ok: true, type: obj.constructor.name, id: obj.id?.href ?? null, name, parsed: parsedSummary(obj), json, via },
    ];
  } catch (e) {
    return [200, { ok: false, error: e?.message ?? String(e) }];
  }
}

async function handleControl(req, path, rawBody) {
  let body = null;
  if (req.method === "POST" && rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody.toString("utf8"));
    } catch {
      return [400, { error: "invalid JSON body" }];
    }
  }
  const route = `${req.method} ${path}`;
  switch (route) {
    case "POST /control/follow":
      return controlFollow(body);
    case "POST /control/unfollow":
      return controlUnfollow(body);
    case "POST /control/lookup":
      return controlLookup(body);
    case "GET /control/received":
      return [200, received];
    case "GET /control/deliveries":
      return [200, deliveries];
    case "GET /control/sent":
      return [200, sentLog];
    case "POST /control/reset":
      received.length = 0;
      deliveries.length = 0;
      sentLog.length = 0;
      misskeyOutcomes.clear();
      return [200, { ok: true }];
    default:
      return [404, { error: `no control endpoint ${route}` }];
  }
}

// ---------------------------------------------------------------------------
// HTTP server (node:http <-> fetch Request/Response)

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function isInboxPath(path) {
  return path === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(path);
}

function sendJson(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(text);
}

let origin; // "http://127.0.0.1:N", or "https://PEER_HOST:N"

async function handle(req, res) {
  const rawBody = await readBody(req);
  const url = new URL(req.url, origin);
  const path = url.pathname;

  if (path.startsWith("/control/")) {
    const [status, value] = await handleControl(req, path, rawBody);
    return sendJson(res, status, value);
  }

  let delivery = null;
  if (req.method === "POST" && isInboxPath(path)) {
    // Independent check first, then hand the untouched request to Fedify.
    const outcome = await misskeyVerify(req, rawBody);
    const raw = tryParseJson(rawBody.toString("utf8"));
    const activityId = raw && typeof raw === "object" && raw.id ? normId(raw.id) : null;
    outcome.raw = raw;
    outcome.inbox = path;
    if (activityId) misskeyOutcomes.set(activityId, outcome);
    delivery = {
      path,
      activityId,
      type: raw?.type ?? null,
      hasLdSignature: raw?.signature != null,
      hasProof: raw?.proof != null,
      misskeyVerified: outcome.misskeyVerified,
      misskeyError: outcome.misskeyError,
      status: null,
      response: null,
    };
    deliveries.push(delivery);
    if (!outcome.misskeyVerified) log(`misskey verification failed for ${activityId}: ${outcome.misskeyError}`);
  }

  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v != null) headers.set(k, v);
  }
  const request = new Request(url.href, {
    method: req.method,
    headers,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : rawBody,
  });
  const response = await federation.fetch(request, {
    contextData: undefined,
    onNotFound: () => new Response("Not found", { status: 404 }),
    onNotAcceptable: () => new Response("Not acceptable", { status: 406 }),
  });
  const out = Buffer.from(await response.arrayBuffer());
  if (delivery) {
    delivery.status = response.status;
    delivery.response = out.toString("utf8").slice(0, 500);
    if (response.status >= 300) log(`Fedify answered ${response.status} to ${delivery.activityId}: ${delivery.response}`);
  }
  const outHeaders = {};
  response.headers.forEach((v, k) => (outHeaders[k] = v));
  res.writeHead(response.status, outHeaders);
  res.end(req.method === "HEAD" ? undefined : out);
}

function onRequest(req, res) {
  handle(req, res).catch((e) => {
    log("request failed:", e);
    if (!res.headersSent) sendJson(res, 500, { error: e?.message ?? String(e) });
    else res.end();
  });
}

const server = TLS
  ? https.createServer(
      { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) },
      onRequest,
    )
  : http.createServer(onRequest);

const wantedPort = Number.parseInt(process.env.PORT ?? "0", 10) || 0;
server.listen(wantedPort, HOST, () => {
  const { port } = server.address();
  origin = `${TLS ? "https" : "http"}://${PUBLIC_HOST}:${port}`;
  federation = buildFederation(origin);
  process.stdout.write(
    JSON.stringify({ ready: true, port, actor: `${origin}/users/${IDENTIFIER}` }) + "\n",
  );
  log(`listening on ${origin}`);
});
server.on("error", (e) => {
  log("server error:", e);
  process.exit(1);
});

function shutdown(sig) {
  log(`${sig} received, exiting`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
