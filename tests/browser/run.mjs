// Drives Chromium through Maillage's web interface: a newcomer's visit, an administrator's
// work, a pole editor kept to their pole, refused sign-ins and forms; axe-core checks every
// page, screenshots go to the artifacts folder, and pages must weigh under 200 KB.
// Started by tests/browser.rs, which passes the server and the accounts in the environment.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
// Evaluated through the browser's debugging protocol: the pages' content security policy
// allows no script of another origin, nor inline.
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env("BASE_URL");
const ARTIFACTS = env("ARTIFACTS");
const ADMIN = [env("ADMIN_USER"), env("ADMIN_PASSWORD")];
const EDITOR = [env("EDITOR_USER"), env("EDITOR_PASSWORD")];
const LABEL = process.env.DB_LABEL || "db";
const MAX_PAGE_BYTES = 200 * 1024;
mkdirSync(ARTIFACTS, { recursive: true });

const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

/** Anything the content security policy blocks on a page is a failure. */
function watchPolicy(context) {
  context.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      failures.push(`content security policy on ${message.page()?.url()}: ${message.text()}`);
    }
  });
  return context;
}

async function newPage(context) {
  return await context.newPage();
}

async function visit(page, url) {
  const response = await page.goto(BASE + url, { waitUntil: "load" });
  await page.waitForLoadState("networkidle").catch(() => {});
  return response;
}

async function axe(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    failures.push(`axe (${name}): ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
  }
  console.log(`axe ${name}: ${result.violations.length} violations, ${bad.length} serious or critical`);
}

/** The page and what it loaded from this site (map tiles come from elsewhere), uncompressed. */
async function weigh(page, name) {
  const bytes = await page.evaluate((base) => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance
      .getEntriesByType("resource")
      .filter((r) => r.name.startsWith(base))
      .reduce((sum, r) => sum + r.decodedBodySize, 0);
    return (nav ? nav.decodedBodySize : 0) + resources;
  }, BASE);
  console.log(`weight ${name}: ${bytes} bytes`);
  check(bytes > 1000 && bytes < MAX_PAGE_BYTES, `${name} weighs ${bytes} bytes (limit ${MAX_PAGE_BYTES})`);
}

async function shots(context, url, name) {
  for (const [width, height, label] of [[1280, 900, "desktop"], [375, 812, "phone"]]) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(BASE + url, { waitUntil: "load" });
    await page.screenshot({ path: path.join(ARTIFACTS, `${LABEL}-${name}-${label}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name} scrolls sideways by ${overflow}px at ${width}px`);
    await page.close();
  }
}

/** Screenshots of the page as it is (the answer to a form), at both widths. */
async function shotsHere(page, name) {
  for (const [width, height, label] of [[1280, 900, "desktop"], [375, 812, "phone"]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: path.join(ARTIFACTS, `${LABEL}-${name}-${label}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name} scrolls sideways by ${overflow}px at ${width}px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signIn(page, [user, password]) {
  await visit(page, "/admin/login");
  await page.fill("#f-username", user);
  await page.fill("#f-password", password);
  const [response] = await Promise.all([page.waitForNavigation(), page.click("form.admin-form button[type=submit]")]);
  return response;
}

try {
  // ---- A newcomer ----
  const visitor = watchPolicy(await browser.newContext({ locale: "fr-FR", viewport: { width: 1280, height: 900 } }));
  const p = await newPage(visitor);
  let r = await visit(p, "/");
  check(r.status() === 200, `home answered ${r.status()}`);
  check((await p.textContent("h1"))?.length > 0, "home has a heading");
  await axe(p, "home");
  await weigh(p, "home");
  await shots(visitor, "/", "home");

  await Promise.all([p.waitForNavigation(), p.click("nav >> text=Annuaire")]);
  await axe(p, "directory");
  await weigh(p, "directory");
  await p.fill("#f-q", "coopérer");
  await Promise.all([p.waitForNavigation(), p.click("form.filters button[type=submit]")]);
  check(p.url().includes("q=coop"), `the search is in the URL: ${p.url()}`);
  check((await p.content()).includes("Pôle Breizh Coop"), "the text search finds the Breton pole");
  await p.selectOption("#f-region", "84");
  await Promise.all([p.waitForNavigation(), p.click("form.filters button[type=submit]")]);
  const filtered = await p.content();
  check(p.url().includes("region=84"), `the région is in the URL: ${p.url()}`);
  check(filtered.includes("PTCE Rhône Solidaire") && !filtered.includes("Pôle Breizh Coop"), "filtering by région keeps only Auvergne-Rhône-Alpes");
  await axe(p, "directory-filtered");
  await shots(visitor, "/directory?region=84", "directory");

  await Promise.all([p.waitForNavigation(), p.click("h3 >> text=PTCE Rhône Solidaire")]);
  check(p.url().endsWith("/poles/ptce-rhone"), `opened the pole: ${p.url()}`);
  await axe(p, "pole");
  await weigh(p, "pole");
  const ld = await p.$eval("script[type='application/ld+json']", (s) => JSON.parse(s.textContent));
  check(ld["@type"] === "Organization", "the pole page carries an Organization");
  check((await p.$$("link[rel=alternate][type='application/atom+xml']")).length > 0, "the pole page links its Atom feed");
  await shots(visitor, "/poles/ptce-rhone", "pole");

  await Promise.all([p.waitForNavigation(), p.click("h3 >> text=Marché des producteurs")]);
  await axe(p, "event");
  await weigh(p, "event");
  const eventLd = await p.$eval("script[type='application/ld+json']", (s) => JSON.parse(s.textContent));
  check(eventLd["@type"] === "Event" && eventLd.startDate?.startsWith("2030-05-04T09:00"), "the event page carries an Event");
  const ics = await p.getAttribute("a[download]", "href");
  check(/^\/events\/[0-9a-f-]+\/calendar\.ics$/.test(ics || ""), `the event links its calendar file: ${ics}`);
  const icsResponse = await p.request.get(BASE + ics);
  check(icsResponse.status() === 200, `the calendar file answers 200: ${icsResponse.status()}`);
  check((icsResponse.headers()["content-type"] || "").startsWith("text/calendar"), "the calendar file is text/calendar");
  check((await icsResponse.text()).includes("BEGIN:VCALENDAR"), "the calendar file is iCalendar");
  const eventUrl = new URL(p.url()).pathname;
  await shots(visitor, eventUrl, "event");

  r = await visit(p, "/map");
  await axe(p, "map");
  await weigh(p, "map");
  check(await p.isVisible(".leaflet-container"), "the map is drawn");
  check((await p.$$(".leaflet-interactive")).length >= 1, "the map shows markers");
  check((await p.getAttribute(".leaflet-control-zoom-in", "title")) === "Zoom avant", "the map's zoom buttons are in French");
  check((await p.getAttribute(".leaflet-control-zoom-out", "title")) === "Zoom arrière", "the map's zoom buttons are in French");
  check((await p.getAttribute(".leaflet-control-attribution a[href='https://leafletjs.com']", "title")) === "Bibliothèque de cartes Leaflet", "the map's attribution prefix is in French");
  await shots(visitor, "/map", "map");

  r = await visit(p, "/statistics");
  check(r.status() === 200, `the statistics page answers 200, got ${r.status()}`);
  await axe(p, "statistics");
  await weigh(p, "statistics");
  check((await p.$$("svg[role=img] > title")).length >= 4, "the statistics page draws titled charts");
  check((await p.$$("section.chart table")).length >= 4, "each chart has its table");
  await shots(visitor, "/statistics", "statistics");

  r = await visit(p, "/poles/nobody");
  check(r.status() === 404, `a missing pole answers 404, got ${r.status()}`);
  await axe(p, "not-found");

  // ---- An administrator ----
  const adminContext = watchPolicy(await browser.newContext({ locale: "fr-FR", viewport: { width: 1280, height: 900 } }));
  const a = await newPage(adminContext);
  await visit(a, "/admin/login");
  await axe(a, "login");
  r = await signIn(a, [ADMIN[0], "wrong password, surely"]);
  check(r.status() === 401, `a wrong password answers 401, got ${r.status()}`);
  check(await a.isVisible(".errors"), "a wrong password is explained");
  await axe(a, "login-error");
  r = await signIn(a, ADMIN);
  check(new URL(a.url()).pathname === "/admin", `signed in to the dashboard: ${a.url()}`);
  await axe(a, "dashboard");

  // A form posted without its anti-forgery token is refused.
  const forged = await a.evaluate(async () => {
    const res = await fetch("/admin/poles/ptce-rhone/calls/new", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "title=Forged&how_to_answer=x",
    });
    return res.status;
  });
  check(forged === 403, `a form without its token answers 403, got ${forged}`);

  await visit(a, "/admin/poles/ptce-rhone");
  await axe(a, "pole-admin");
  await shots(adminContext, "/admin/poles/ptce-rhone", "pole-admin");

  // The logo and banner: a real upload through the file input, then its preview.
  await visit(a, "/admin/poles/ptce-rhone/images");
  await axe(a, "images-admin");
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==",
    "base64"
  );
  await a.setInputFiles("#i-logo", { name: "logo.png", mimeType: "image/png", buffer: png });
  await Promise.all([a.waitForNavigation(), a.click("form[action$='/images/logo'] button[type=submit]")]);
  check(await a.isVisible("img.image-preview.logo"), "the uploaded logo is previewed");
  await axe(a, "images-admin-logo");
  await shots(adminContext, "/admin/poles/ptce-rhone/images", "images-admin");
  await visit(a, "/admin/poles/ptce-rhone/images/logo/delete");
  await axe(a, "confirm-image");

  // Deleting asks on a page of its own; « Annuler » goes back without deleting.
  await visit(a, "/admin/poles/ptce-rhone");
  const deleteLink = await a.getAttribute("a[href^='/admin/events/'][href$='/delete']", "href");
  check(deleteLink !== null, "the hub links each event to its confirmation page");
  await visit(a, deleteLink);
  check((await a.textContent("h1"))?.startsWith("Supprimer « Marché des producteurs"), "the confirmation names what is deleted");
  await axe(a, "confirm-delete");
  await shots(adminContext, deleteLink, "confirm-delete");
  await visit(a, "/admin/poles/ptce-rhone/delete");
  await axe(a, "confirm-delete-pole");
  await Promise.all([a.waitForNavigation(), a.click("a.button.secondary >> text=Annuler")]);
  check(new URL(a.url()).pathname === "/admin/poles/ptce-rhone", `cancelling goes back to the pole: ${a.url()}`);

  await visit(a, "/admin/new-pole");
  await axe(a, "new-pole");
  await shots(adminContext, "/admin/new-pole", "new-pole");

  await visit(a, "/admin/poles/ptce-rhone/profile");
  await axe(a, "profile-form");
  await shots(adminContext, "/admin/poles/ptce-rhone/profile", "profile-form");
  await a.fill("#f-summary", "Coopérer entre Villeurbanne et Vaulx-en-Velin");
  await a.fill("#f-territory-communes", "Villeurbanne\n69120");
  await Promise.all([a.waitForNavigation(), a.click("form.admin-form button[type=submit]")]);
  check((await a.textContent(".flash"))?.length > 0, "the profile is saved");

  await visit(a, "/admin/poles/ptce-rhone/events/new");
  await axe(a, "event-form");
  await shots(adminContext, "/admin/poles/ptce-rhone/events/new", "event-form");
  await a.fill("#f-title", "Atelier réparation");
  await a.fill("#f-starts_at", "");
  await a.fill("#f-place-commune", "Nulle-Part-Sur-Rien");
  await Promise.all([a.waitForNavigation(), a.click("form.admin-form button[type=submit]")]);
  check(await a.isVisible("#form-errors"), "a wrong event is explained");
  check((await a.inputValue("#f-title")) === "Atelier réparation", "the form keeps what was typed");
  check(await a.isVisible("#f-place-commune-error"), "the message is next to the field");
  await axe(a, "event-form-errors");
  await a.fill("#f-starts_at", "2030-06-12T08:30");
  await a.fill("#f-ends_at", "2030-06-12T12:00");
  await a.fill("#f-summary", "Réparer ensemble");
  await a.fill("#f-place-name", "La Fabrique");
  await a.fill("#f-place-commune", "Villeurbanne");
  await a.click("#place-picker", { position: { x: 200, y: 150 } });
  check((await a.inputValue("#f-place-latitude")) !== "", "a click on the map fills the latitude");
  check((await a.inputValue("#f-place-longitude")) !== "", "a click on the map fills the longitude");
  await a.fill("#f-place-latitude", "45.771");
  await a.fill("#f-place-longitude", "4.880");
  await Promise.all([a.waitForNavigation(), a.click("form.admin-form button[type=submit]")]);
  check(new URL(a.url()).pathname === "/admin/poles/ptce-rhone", `back to the pole after publishing: ${a.url()}`);

  await visit(a, "/admin/poles/ptce-rhone/calls/new");
  await axe(a, "call-form");
  await a.fill("#f-title", "Cherche un local de stockage");
  await a.fill("#f-summary", "Pour la légumerie");
  await a.check("input[name=subjects][value=premises]");
  await a.fill("#f-deadline", "2030-09-30");
  await a.fill("#f-how_to_answer", "Écrire à contact@example.org");
  await Promise.all([a.waitForNavigation(), a.click("form.admin-form button[type=submit]")]);

  await visit(p, "/poles/ptce-rhone");
  const publicPole = await p.content();
  check(publicPole.includes("Atelier réparation") && publicPole.includes("Cherche un local de stockage"), "the new event and call are on the public page");
  const outbox = await p.request.get(BASE + "/poles/ptce-rhone/outbox?page=1", { headers: { accept: "application/activity+json" } });
  const outboxText = await outbox.text();
  check(outboxText.includes("Atelier réparation") && outboxText.includes("Cherche un local de stockage"), "the new event and call are in the outbox");
  await Promise.all([p.waitForNavigation(), p.click("h3 >> text=Cherche un local de stockage")]);
  await axe(p, "call");
  await weigh(p, "call");
  check((await p.content()).includes("contact@example.org"), "the call says how to answer");

  await visit(a, "/admin/poles/ptce-rhone");
  const row = a.locator("tr", { hasText: "Cherche un local de stockage" });
  await Promise.all([a.waitForNavigation(), row.locator("form[action$='/close'] button").click()]);
  await visit(p, "/directory?kind=call&call_status=open");
  check(!(await p.content()).includes("Cherche un local de stockage"), "a closed call leaves the open calls");

  await visit(a, "/admin/federation");
  await axe(a, "federation-admin");
  check(
    (await a.locator("form[action$='/accept'] button").count()) > 0,
    "the instance waiting to follow can be accepted"
  );
  await a.fill("#b-domain", "pas un domaine");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/blocks'] button[type=submit]")]);
  check((await a.getAttribute("#b-domain", "aria-invalid")) === "true", "a bad domain is marked invalid");
  check((await a.inputValue("#b-domain")) === "pas un domaine", "what was typed is kept");
  await axe(a, "federation-admin-error");
  await a.fill("#b-domain", "spam.example");
  await a.fill("#b-reason", "Publicités");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/blocks'] button[type=submit]")]);
  check(
    (await a.locator("form[action='/admin/blocks/spam.example/delete']").count()) === 1,
    `the blocked domain is listed: ${a.url()}`
  );
  await axe(a, "federation-admin-blocks");
  await shots(adminContext, "/admin/federation", "federation-admin");

  // ---- Accounts and API tokens ----
  await visit(a, "/admin/users");
  await axe(a, "users-admin");
  await shots(adminContext, "/admin/users", "users-admin");
  await a.fill("#u-username", "Nom Faux");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/users'] button[type=submit]")]);
  check((await a.content()).includes("L’identifiant doit compter"), "a wrong user name is told in French");
  await axe(a, "users-admin-errors");
  await a.fill("#u-username", "benevole");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/users'] button[type=submit]")]);
  check((await a.locator("main code").count()) === 1, `the new account's password is shown once: ${a.url()}`);
  await axe(a, "user-created");
  await shotsHere(a, "user-created");
  await visit(a, "/admin/users");
  const editorUrl = await a.locator("tbody tr", { hasText: "editrice" }).locator("a").first().getAttribute("href");
  check(/^\/admin\/users\/\d+$/.test(editorUrl), `the editor's page is linked: ${editorUrl}`);
  await visit(a, editorUrl);
  await axe(a, "user-admin");
  await shots(adminContext, editorUrl, "user-admin");
  await visit(a, `${editorUrl}/delete`);
  check((await a.content()).includes("Supprimer le compte « editrice » ?"), "deleting an account asks first");
  await axe(a, "user-delete-confirm");
  await shots(adminContext, `${editorUrl}/delete`, "user-delete-confirm");
  await visit(a, "/admin/tokens");
  await a.fill("#t-name", "Tableur du pôle");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/tokens'] button[type=submit]")]);
  check((await a.locator("main code").innerText()).startsWith("mlg_"), "the new token is shown once");
  await axe(a, "token-created");
  await shotsHere(a, "token-created");
  await visit(a, "/admin/tokens");
  await axe(a, "tokens-admin");
  await shots(adminContext, "/admin/tokens", "tokens-admin");
  const revokeUrl = await a.locator("a[href$='/revoke']").first().getAttribute("href");
  await visit(a, revokeUrl);
  await axe(a, "token-revoke-confirm");
  await shots(adminContext, revokeUrl, "token-revoke-confirm");
  await visit(a, "/admin/account/password");
  await axe(a, "own-password");
  await shots(adminContext, "/admin/account/password", "own-password");

  await visit(a, "/admin");
  await Promise.all([a.waitForNavigation(), a.click("form[action='/admin/logout'] button")]);
  r = await visit(a, "/admin");
  check(new URL(a.url()).pathname === "/admin/login", `signed out: ${a.url()}`);

  // ---- A pole editor ----
  const editorContext = watchPolicy(await browser.newContext({ locale: "fr-FR" }));
  const e = await newPage(editorContext);
  await signIn(e, EDITOR);
  check(new URL(e.url()).pathname === "/admin", `the editor is signed in: ${e.url()}`);
  check(!(await e.content()).includes("Pôle Breizh Coop"), "the editor sees only their pole");
  r = await visit(e, "/admin/poles/ptce-breizh");
  check(r.status() === 403, `another pole answers 403 to an editor, got ${r.status()}`);
  await axe(e, "forbidden");
  await visit(e, "/admin/poles/ptce-rhone/events/new");
  const token = await e.inputValue("input[name=_csrf]");
  const intrusion = await e.evaluate(async (token) => {
    const body = new URLSearchParams({ _csrf: token, title: "Intrusion", starts_at: "2030-01-01T10:00" });
    const res = await fetch("/admin/poles/ptce-breizh/events/new", { method: "POST", body });
    return res.status;
  }, token);
  check(intrusion === 403, `publishing on another pole answers 403, got ${intrusion}`);

  // ---- English ----
  const english = watchPolicy(await browser.newContext({ locale: "en-GB", extraHTTPHeaders: { "accept-language": "en-GB,en;q=0.9" } }));
  const en = await newPage(english);
  await visit(en, "/");
  check((await en.getAttribute("html", "lang")) === "en", "English from the browser's languages");
  await axe(en, "home-en");
  await visit(en, "/map");
  check((await en.getAttribute(".leaflet-control-zoom-in", "title")) === "Zoom in", "the map's zoom buttons are in English");
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`${failures.length} failure(s):`);
  for (const f of failures) console.error(` - ${f}`);
  process.exit(1);
}
console.log("browser scenarios passed");
