// Batched decoding constrained by the item trie (beam search, or sampling without replacement); runs inside
// an inference worker. Requests with fewer live beams than the widest are padded; padding rows are ignored.
import { LeafMask, type GlobalMask, type Trie } from './trie.js'
import { conditionalGumbel, createRng, gumbel, propensities } from './sampling.js'

export interface TokenLayout { pad: number, bos: number, levelOffsets: number[], maxHistory: number }

export interface DecodeRequest {
  history: Int32Array // item indices, oldest first
  userToken: number
  /** beam: the top-k by beam search of width beamWidth; sample: k items drawn without replacement (beam width k) */
  strategy: 'beam' | 'sample'
  beamWidth: number
  k: number
  temperature: number // sample: each level's logits are divided by it
  seed: number // sample: uint32 seed of the request's own random stream
  exclude: Int32Array // item indices that must not be recommended
  allow: Int32Array | null // when set, only these item indices may be recommended
  snapshot: number // the catalogue snapshot the indices refer to (catalogue/view.ts)
}

/**
 * scores: log-probability of each item under the policy restricted to real items (the trie). Sampling adds,
 * per item, its probability under the distribution sampled (tempered, masked) and its propensity at its rank.
 */
export interface DecodeResult { items: number[], scores: number[], probabilities?: number[], propensities?: number[] }

/** The batch's deadline passed; raised between decoder steps, never inside one. */
export class DeadlineExceeded extends Error {
  constructor () {
    super('the batch passed its deadline')
    this.name = 'DeadlineExceeded'
  }
}

/**
 * The policy as the search sees it: the ONNX sessions in production, a small fake in unit tests.
 * `step` gets, per request and beam slot, the beam's last token and the slot of the previous step it
 * extends (the policy keeps its own cache in `state`); it returns logits [batch, beams, width].
 */
export interface Policy<State> {
  readonly width: number // logits per decoder row (the widest codebook)
  encode: (historyTokens: BigInt64Array, batch: number, length: number, userTokens: BigInt64Array) => Promise<State>
  step: (state: State, tokens: BigInt64Array, parents: BigInt64Array, batch: number, beams: number, level: number) => Promise<Float32Array>
}

/**
 * A partial item. score: log-probability under the policy over the trie; logq: under the distribution
 * sampled (tempered, masked); key: what beams are ranked by (score for beam search, the perturbed logq for
 * sampling).
 */
interface Beam { node: number, score: number, logq: number, key: number, token: number, parent: number }

export function historyTokens (requests: DecodeRequest[], codes: Int32Array, layout: TokenLayout): { tokens: BigInt64Array, length: number } {
  const L = layout.levelOffsets.length
  const length = Math.max(1, ...requests.map(r => Math.min(r.history.length, layout.maxHistory)))
  const tokens = new BigInt64Array(requests.length * length * L).fill(BigInt(layout.pad))
  requests.forEach((r, row) => {
    const recent = r.history.subarray(Math.max(0, r.history.length - layout.maxHistory))
    const pad = length - recent.length // left padding
    recent.forEach((item, t) => {
      for (let l = 0; l < L; l++) {
        tokens[((row * length) + pad + t) * L + l] = BigInt(codes[item * L + l] + layout.levelOffsets[l])
      }
    })
  })
  return { tokens, length }
}

/** Keeps the `width` candidates of highest key, in descending order; equal keys keep their arrival order. */
class TopCandidates {
  readonly beams: Array<Omit<Beam, 'token'> & { code: number }> = []
  constructor (private readonly width: number) {}

  offer (candidate: Omit<Beam, 'token'> & { code: number }): void {
    const list = this.beams
    const n = list.length
    if (n === this.width && candidate.key <= list[n - 1].key) return
    let at = n
    while (at > 0 && list[at - 1].key < candidate.key) at--
    list.splice(at, 0, candidate)
    if (list.length > this.width) list.pop()
  }
}

/** log-sum-exp of logits[base + code] / temperature over the given edges. */
function logSumExp (logits: Float32Array, base: number, codes: Uint16Array, edges: number[], temperature: number): number {
  let max = -Infinity
  for (const e of edges) max = Math.max(max, logits[base + codes[e]] / temperature)
  let sum = 0
  for (const e of edges) sum += Math.exp(logits[base + codes[e]] / temperature - max)
  return max + Math.log(sum)
}

/**
 * Batched decoding constrained by the item trie, beam search or sampling per request (sampling.ts). Per
 * level: one decoder call for the whole batch, laid out as [requests, beams]; then, per request and beam, the
 * trie's children are scored (log P_F normalised over the catalogue's structure, whatever is excluded), dead
 * children (no allowed item below) are skipped, and the best candidates by key survive.
 * deadline: a Date.now() value; past it the search throws DeadlineExceeded before the next policy call.
 * hidden: items no request may get (unavailable), applied with the request's own masks while decoding.
 */
export async function beamSearch<E> (policy: Policy<E>, trie: Trie, codes: Int32Array, layout: TokenLayout,
  requests: DecodeRequest[], deadline = Infinity, hidden: GlobalMask | null = null): Promise<DecodeResult[]> {
  const { tokens, length } = historyTokens(requests, codes, layout)
  const users = BigInt64Array.from(requests.map(r => BigInt(r.userToken)))
  const state = await policy.encode(tokens, requests.length, length, users)
  const masks = requests.map(r => new LeafMask(trie, codes, r.exclude, r.allow, hidden))
  const rngs = requests.map(r => r.strategy === 'sample' ? createRng(r.seed) : null)
  let beams: Beam[][] = masks.map(mask => mask.alive(0) > 0 ? [{ node: 0, score: 0, logq: 0, key: 0, token: layout.bos, parent: 0 }] : [])
  const b = trie.b
  for (let level = 0; level < trie.levels; level++) {
    const width = Math.max(...beams.map(list => list.length))
    if (width === 0) break
    const stepTokens = new BigInt64Array(requests.length * width).fill(BigInt(layout.pad))
    const parents = new BigInt64Array(requests.length * width)
    beams.forEach((list, request) => list.forEach((beam, slot) => {
      stepTokens[request * width + slot] = BigInt(beam.token)
      parents[request * width + slot] = BigInt(beam.parent)
    }))
    if (Date.now() > deadline) throw new DeadlineExceeded()
    const logits = await policy.step(state, stepTokens, parents, requests.length, width, level)
    beams = beams.map((list, request) => {
      const r = requests[request]
      const rng = rngs[request]
      const top = new TopCandidates(rng === null ? r.beamWidth : r.k)
      list.forEach((beam, slot) => {
        const base = (request * width + slot) * policy.width
        const first = b.firstChild[beam.node]
        const all = Array.from({ length: b.childCount[beam.node] }, (_, i) => first + i)
        const alive = all.filter(e => masks[request].alive(e + 1) > 0)
        if (alive.length === 0) return
        const logZ = logSumExp(logits, base, b.childCode, all, 1)
        if (rng === null) {
          for (const e of alive) {
            const score = beam.score + logits[base + b.childCode[e]] - logZ
            top.offer({ key: score, score, logq: 0, parent: slot, node: e + 1, code: b.childCode[e] })
          }
          return
        }
        // sampling: the children's perturbed values, conditioned on their maximum being the parent's
        const logZq = logSumExp(logits, base, b.childCode, alive, r.temperature)
        const logq = alive.map(e => beam.logq + logits[base + b.childCode[e]] / r.temperature - logZq)
        const perturbed = logq.map(lq => lq + gumbel(rng))
        const max = Math.max(...perturbed)
        alive.forEach((e, i) => top.offer({
          key: conditionalGumbel(beam.key, perturbed[i], max),
          score: beam.score + logits[base + b.childCode[e]] - logZ,
          logq: logq[i],
          parent: slot,
          node: e + 1,
          code: b.childCode[e]
        }))
      })
      return top.beams.map(c => ({ ...c, token: c.code + layout.levelOffsets[level] }))
    })
  }
  return beams.map((list, request) => {
    const best = list.slice(0, requests[request].k)
    const result: DecodeResult = { items: best.map(beam => trie.item(beam.node)), scores: best.map(beam => beam.score) }
    if (requests[request].strategy === 'sample') {
      result.probabilities = best.map(beam => Math.exp(beam.logq))
      result.propensities = propensities(result.probabilities)
    }
    return result
  })
}
