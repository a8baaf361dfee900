// README examples come from the real service, so that they cannot drift: every block of README.md
// marked <!-- example: METHOD PATH BODY --> is followed by a ```json block with the service's answer to
// that request on the shipped default model (random ids replaced, long item lists cut to two items), and
// the error table between <!-- errors --> markers lists src/errors.ts's codes.
// `npm run readme-examples` rewrites them; test/readme.test.ts fails while one is stale.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openApp, root } from './app.mjs'

const MARKER = /<!-- example: (GET|POST|PUT|DELETE) (\S+)(?: (.*?))? -->\n```json\n[\s\S]*?\n```/g

/** The block shown for a response: deterministic fields only, at most two items. */
export function shown (body) {
  const copy = JSON.parse(JSON.stringify(body))
  if (typeof copy.recommendationId === 'string') copy.recommendationId = '8ee5dc79-5446-4df9-9175-c409b667739c'
  if (typeof copy.requestId === 'string') copy.requestId = '1b86bdfa-ec49-4e40-876e-c93c97d5b9a3'
  if (Array.isArray(copy.eventIds)) copy.eventIds = copy.eventIds.map((id, i) => /^[0-9a-f-]{36}$/.test(id) ? `(generated ${i + 1})` : id)
  if (Array.isArray(copy.items) && copy.items.length > 2) copy.items = [...copy.items.slice(0, 2), `… ${copy.items.length - 2} more`]
  for (const item of copy.items ?? []) {
    if (typeof item === 'object') {
      if ('score' in item) item.score = Number(item.score.toFixed(4))
      for (const key of ['probability', 'propensity']) if (key in item) item[key] = Number(item[key].toPrecision(4)) // 1e-5 must not read 0
    }
  }
  // arrays of plain values on one line
  return JSON.stringify(copy, null, 2).replace(/\[\n\s+([^[\]{}]*?)\n\s*\]/g, (_, inner) => `[${inner.split(/,\n\s+/).join(', ')}]`)
}

/** Every marked example of the README and what the app answers to it now: [{ match, expected }]. */
export async function examples (app, readme) {
  const out = []
  for (const match of readme.matchAll(MARKER)) {
    const [block, method, url, body] = match
    const res = await app.inject({ method, url, ...(body !== undefined && { payload: JSON.parse(body) }) })
    out.push({ block, expected: `<!-- example: ${method} ${url}${body !== undefined ? ` ${body}` : ''} -->\n\`\`\`json\n${shown(res.json())}\n\`\`\`` })
  }
  return out
}

const ERRORS = /(<!-- errors: [^\n]*-->\n)[\s\S]*?(\n<!-- \/errors -->)/

/** The README with its error table made from the error catalogue ({ code: { status, when } }). */
export function withErrorTable (readme, codes) {
  const rows = Object.entries(codes).map(([code, { status, when }]) => `| ${status} | \`${code}\` | ${when} |`)
  return readme.replace(ERRORS, (_, open, close) => `${open}| status | code | when |\n|---|---|---|\n${rows.join('\n')}${close}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { app, close } = await openApp()
  const file = path.join(root, 'README.md')
  const { ERROR_CODES } = await import(path.join(root, 'dist', 'src', 'errors.js'))
  let readme = withErrorTable(readFileSync(file, 'utf8'), ERROR_CODES)
  for (const { block, expected } of await examples(app, readme)) readme = readme.replace(block, expected)
  writeFileSync(file, readme)
  await close()
  console.log('README.md examples regenerated')
}
