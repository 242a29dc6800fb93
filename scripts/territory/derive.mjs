// Regenerate data/territory/: cd scripts/territory && npm ci && node derive.mjs
//
// Turns the JSON of @etalab/decoupage-administratif into the small TSV files
// that src/domain/territory_ref.rs embeds with include_str!. The JSON is ~12 MB
// and carries fields we never use (SIREN of each commune, delegated/associated
// communes, per-member populations); the TSV keeps only what the directory
// needs, so the binary stays small and parsing at start-up stays cheap.
//
// Output is deterministic (rows sorted by code with a plain byte comparison,
// "\n" line endings, UTF-8), so rerunning on the same package version yields
// byte-identical files and a clean diff.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const PKG = '@etalab/decoupage-administratif'
const pkgDir = dirname(require.resolve(`${PKG}/package.json`))
const pkgVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'territory')

const load = (name) => JSON.parse(readFileSync(join(pkgDir, 'data', `${name}.json`), 'utf8'))
const communesJson = load('communes')
const epciJson = load('epci')
const departementsJson = load('departements')
const regionsJson = load('regions')

// Locale-independent ordering: localeCompare would depend on the ICU build.
const byCode = (a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)

// The Rust reader splits on tabs and newlines, so a stray one in a name would
// silently shift columns; fail loudly here instead.
function field (value) {
  const text = value === undefined || value === null ? '' : String(value)
  if (/[\t\r\n]/.test(text)) throw new Error(`field contains a tab or newline: ${JSON.stringify(text)}`)
  return text
}

function writeTsv (file, header, rows) {
  const lines = [header.join('\t'), ...rows.map((row) => row.map(field).join('\t'))]
  writeFileSync(join(outDir, file), lines.join('\n') + '\n', 'utf8')
  return rows.length
}

// EPCI membership is not on the commune records: each EPCI lists its members
// (by INSEE code) in `membres`. Invert that list, and refuse a commune that
// would belong to two EPCI, which the law forbids and would signal bad data.
const epciOf = new Map()
for (const epci of epciJson) {
  for (const member of epci.membres) {
    if (epciOf.has(member.code)) throw new Error(`commune ${member.code} is in two EPCI`)
    epciOf.set(member.code, epci.code)
  }
}

// Keep current communes (metropolitan, DROM and the COM, whose pseudo
// département/région codes are 975…989) and the 45 municipal arrondissements
// of Paris, Lyon and Marseille, which people use as their address. Delegated
// and associated communes are historical and left out.
const selected = communesJson.filter((c) => c.type === 'commune-actuelle' || c.type === 'arrondissement-municipal')
const communeCodes = new Set(selected.filter((c) => c.type === 'commune-actuelle').map((c) => c.code))
const seen = new Set()
const communeRows = selected.sort(byCode).map((c) => {
  if (seen.has(c.code)) throw new Error(`duplicate commune code ${c.code}`)
  seen.add(c.code)
  const isArrondissement = c.type === 'arrondissement-municipal'
  if (isArrondissement && !communeCodes.has(c.commune)) throw new Error(`arrondissement ${c.code} has unknown parent ${c.commune}`)
  // An arrondissement is not itself an EPCI member, but it lies inside its
  // parent commune, so it shares the parent's EPCI (e.g. Paris 11e → MGP).
  const epci = epciOf.get(isArrondissement ? c.commune : c.code)
  const postalCodes = [...new Set(c.codesPostaux ?? [])].sort()
  return [
    c.code,
    c.nom,
    isArrondissement ? 'arrondissement' : 'commune',
    c.departement,
    c.region,
    epci ?? '',
    postalCodes.join(','),
    Number.isInteger(c.population) ? c.population : '',
    isArrondissement ? c.commune : ''
  ]
})

for (const code of epciOf.keys()) {
  if (!communeCodes.has(code)) throw new Error(`EPCI member ${code} is not a current commune`)
}

const departementCodes = new Set(departementsJson.map((d) => d.code))
const regionCodes = new Set(regionsJson.map((r) => r.code))
for (const row of communeRows) {
  if (!departementCodes.has(row[3]) || !regionCodes.has(row[4])) throw new Error(`commune ${row[0]} has unknown département/région`)
}

mkdirSync(outDir, { recursive: true })
const counts = {
  communes: writeTsv('communes.tsv',
    ['code', 'name', 'kind', 'departement', 'region', 'epci', 'postal_codes', 'population', 'parent'],
    communeRows),
  epci: writeTsv('epci.tsv', ['code', 'name', 'kind'],
    [...epciJson].sort(byCode).map((e) => [e.code, e.nom, e.type])),
  departements: writeTsv('departements.tsv', ['code', 'name', 'region'],
    [...departementsJson].sort(byCode).map((d) => [d.code, d.nom, d.region])),
  regions: writeTsv('regions.tsv', ['code', 'name'],
    [...regionsJson].sort(byCode).map((r) => [r.code, r.nom]))
}
const arrondissements = communeRows.filter((row) => row[2] === 'arrondissement').length
// Named in the README so a reader knows an empty `epci` is expected for them.
const withoutEpci = selected
  .filter((c) => c.type === 'commune-actuelle' && c.zone !== 'com' && !epciOf.has(c.code))
  .map((c) => c.nom)

// The README is generated too, so its version and counts can never drift from
// the files beside it.
const readme = `# Territorial reference data

Generated files — do not edit by hand. They are embedded in the server binary by
\`src/domain/territory_ref.rs\` (\`include_str!\`).

## Regenerate

\`\`\`sh
cd scripts/territory && npm ci && node derive.mjs
\`\`\`

To move to a newer vintage, bump the exact version of \`${PKG}\` in
\`scripts/territory/package.json\`, run \`npm install\` there, then \`node derive.mjs\`.

## Source and licence

- Derived from the npm package [\`${PKG}\`](https://github.com/etalab/decoupage-administratif)
  version **${pkgVersion}** (2026 vintage), published by Etalab / data.gouv.fr.
- The package's code is under the MIT licence; its README states that its
  **data** is under the [Licence Ouverte / Open Licence](https://www.etalab.gouv.fr/licence-ouverte-open-licence)
  (Etalab). Reuse requires attributing the source, e.g. « Source : INSEE, Code
  officiel géographique ; DGCL ; La Poste — via @etalab/decoupage-administratif ».
- Upstream sources listed by the package: INSEE's Code officiel géographique
  (communes, arrondissements municipaux, départements, régions), the DGCL's list
  of EPCI à fiscalité propre and their member communes, INSEE's populations
  légales, and La Poste's Base officielle des codes postaux.

## Files

All files are UTF-8, tab-separated, with one header line, \`\\n\` line endings,
rows sorted by \`code\`. An empty field means "unknown / none".

| file | rows | columns |
| --- | ---: | --- |
| \`communes.tsv\` | ${counts.communes} | \`code\` (INSEE), \`name\`, \`kind\` (\`commune\` or \`arrondissement\`), \`departement\`, \`region\`, \`epci\` (SIREN), \`postal_codes\` (comma-separated), \`population\`, \`parent\` |
| \`epci.tsv\` | ${counts.epci} | \`code\` (SIREN), \`name\`, \`kind\` (CC, CA, CU, METRO, MET69) |
| \`departements.tsv\` | ${counts.departements} | \`code\`, \`name\`, \`region\` |
| \`regions.tsv\` | ${counts.regions} | \`code\`, \`name\` |

Notes:

- \`communes.tsv\` holds every current commune (type \`commune-actuelle\`),
  including the overseas départements (971–976) and the overseas collectivities
  (975, 977, 978, 984, 986–989, which the package lists as their own
  "département" and "région"), plus the ${arrondissements} municipal arrondissements of Paris, Lyon
  and Marseille (\`kind\` = \`arrondissement\`, \`parent\` = the commune's INSEE code).
  Delegated and associated communes are left out.
- \`epci\` comes from the member lists in the package's \`epci.json\`;
  an arrondissement gets its parent commune's EPCI. The overseas collectivities
  and ${withoutEpci.length} other communes (${withoutEpci.join(', ')}) belong to no EPCI.
- \`population\` is INSEE's population municipale as given by the package; it is
  empty for the uninhabited overseas territories.
`
writeFileSync(join(outDir, 'README.md'), readme, 'utf8')

console.log(`${PKG}@${pkgVersion}:`, { ...counts, arrondissements })
