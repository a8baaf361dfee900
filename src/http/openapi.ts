// The last touches to the OpenAPI document @fastify/swagger builds from the routes' schemas: what OpenAPI 3.0
// and its tools (Swagger UI, client generators) cannot read as the validator writes it.

/**
 * The document as served: named request-body examples moved into place, and patterns made portable.
 * Applied by @fastify/swagger's transformObject, once per document.
 */
export function finishDocument<T extends { paths?: object }> (doc: T): T {
  namedBodyExamples(doc)
  portablePatterns(doc)
  return doc
}

/**
 * OpenAPI 3.0 ignores the siblings of a $ref, so a request body given as ref(...) cannot carry named examples.
 * Routes put them in their schema as x-body-examples (Example Objects by name), which @fastify/swagger copies
 * onto the operation; this moves them to the JSON request body, where Swagger UI offers each by name.
 */
function namedBodyExamples (doc: { paths?: object }): void {
  type Operation = { 'x-body-examples'?: object, requestBody?: { content?: Record<string, { examples?: object }> } }
  for (const operations of Object.values(doc.paths ?? {}) as Array<Record<string, Operation>>) {
    for (const operation of Object.values(operations)) {
      const examples = operation['x-body-examples']
      if (examples === undefined) continue
      delete operation['x-body-examples']
      const media = operation.requestBody?.content?.['application/json']
      if (media !== undefined) media.examples = examples
    }
  }
}

/**
 * The validator reads patterns with the u flag, which Unicode property classes (\p{Cc}) need; OpenAPI 3.0 tools
 * do not (Swagger UI reads \p{Cc} as the letters p, {, C, c, } and refused every user id with a c or an s).
 * In the document each \p{..} becomes the ranges of its Basic Multilingual Plane code points, which mean the
 * same with and without the flag. The document is then a little looser than the service, which also refuses
 * lone surrogates and format characters above U+FFFF (its 400 says so in words).
 */
function portablePatterns (node: unknown): void {
  if (typeof node !== 'object' || node === null) return
  const record = node as Record<string, unknown>
  if (typeof record.pattern === 'string') record.pattern = portablePattern(record.pattern)
  for (const value of Object.values(record)) portablePatterns(value)
}

const hex = (c: number) => `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`
const ranges = new Map<string, string>()

/**
 * A pattern's \p{..} classes as \uXXXX ranges of their BMP code points (surrogates left out). Only \p{Name} inside
 * a character class is rewritten (the only form our patterns use); any other Unicode property escape is refused.
 */
export function portablePattern (regex: string): string {
  if (/\\P\{|\\p\{\w*=/.test(regex) || regex.replace(/\[(?:\\.|[^\]\\])*\]/g, '').includes('\\p{')) {
    throw new Error(`portablePattern: only \\p{Name} inside a character class can be rewritten: ${regex}`)
  }
  return regex.replace(/\\p\{(\w+)\}/g, (_, name: string) => {
    let out = ranges.get(name)
    if (out === undefined) {
      const test = new RegExp(`^\\p{${name}}$`, 'u')
      out = ''
      for (let c = 0, start = -1; c <= 0x10000; c++) {
        const inside = c < 0x10000 && (c < 0xD800 || c > 0xDFFF) && test.test(String.fromCharCode(c))
        if (inside && start < 0) start = c
        if (!inside && start >= 0) { out += start === c - 1 ? hex(start) : `${hex(start)}-${hex(c - 1)}`; start = -1 }
      }
      ranges.set(name, out)
    }
    return out
  })
}
