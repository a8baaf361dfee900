// Batched decoding constrained by the item trie (beam search, or sampling without replacement); runs inside
// an inference worker. Requests with fewer live beams than the widest are padded; padding rows are ignored.
import { LeafMask, type GlobalMask, type Trie } from './trie.js'
import { conditionalGumbel, createRng, gumbel, logSumExp, propensities, type Expansion, type Step } from './sampling.js'

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
 * sampling); parent: its parent's slot at the previous level. For the propensities, sampling also keeps the
 * parent beam (`from`) and which of its alive children this is (`child`), and a beam's children's log q once it
 * is expanded (`expansion`).
 */
interface Beam { node: number, score: number, logq: number, key: number, token: number, parent: number, from?: Beam, child?: number, expansion?: Expansion }

/** A sampled beam's path from the root, one step per level. */
function path (beam: Beam): Step[] {
  const steps: Step[] = []
  for (let b = beam; b.from !== undefined; b = b.from) steps.push({ expansion: b.from.expansion!, child: b.child! })
  return steps.reverse()
}

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
  readonly beams: Beam[] = []
  constructor (private readonly width: number) {}

  /** Whether a candidate of this key would be kept: callers build only those (no object per rejected child). */
  admits (key: number): boolean {
    return this.beams.length < this.width || key > this.beams[this.beams.length - 1].key
  }

  insert (candidate: Beam): void {
    const list = this.beams
    let at = list.length
    while (at > 0 && list[at - 1].key < candidate.key) at--
    list.splice(at, 0, candidate)
    if (list.length > this.width) list.pop()
  }
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
  // per beam, scratch for its children: all of them (the normaliser), then the alive ones (what may be chosen)
  const logit = new Float64Array(policy.width); const aliveEdge = new Int32Array(policy.width)
  const aliveLogq = new Float64Array(policy.width); const perturbed = new Float64Array(policy.width)
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
    const offset = layout.levelOffsets[level]
    beams = beams.map((list, request) => {
      const r = requests[request]
      const mask = masks[request]
      const rng = rngs[request]
      const top = new TopCandidates(rng === null ? r.beamWidth : r.k)
      for (let slot = 0; slot < list.length; slot++) {
        const beam = list[slot]
        // a child's key never exceeds its parent's (log P_F <= 0; a conditional Gumbel is at most its parent's), and
        // the beams come in descending key: once one cannot enter the top, none after it can
        if (!top.admits(beam.key)) break
        const base = (request * width + slot) * policy.width
        const first = b.firstChild[beam.node]
        const count = b.childCount[beam.node]
        let alive = 0
        for (let i = 0; i < count; i++) {
          logit[i] = logits[base + b.childCode[first + i]]
          if (mask.alive(first + i + 1) > 0) aliveEdge[alive++] = first + i
        }
        if (alive === 0) continue
        const logZ = logSumExp(logit, count) // log P_F is normalised over all children, whatever is excluded
        if (rng === null) {
          for (let i = 0; i < alive; i++) {
            const e = aliveEdge[i]
            const score = beam.score + logits[base + b.childCode[e]] - logZ
            if (top.admits(score)) top.insert({ key: score, score, logq: 0, parent: slot, node: e + 1, token: b.childCode[e] + offset })
          }
          continue
        }
        // sampling: the children's perturbed values, conditioned on their maximum being the parent's
        for (let i = 0; i < alive; i++) aliveLogq[i] = logits[base + b.childCode[aliveEdge[i]]] / r.temperature
        const logZq = logSumExp(aliveLogq, alive)
        let max = -Infinity
        for (let i = 0; i < alive; i++) {
          aliveLogq[i] = alive === 1 ? beam.logq : beam.logq + aliveLogq[i] - logZq // an only child has all of its parent's q, exactly
          perturbed[i] = aliveLogq[i] + gumbel(rng)
          if (perturbed[i] > max) max = perturbed[i]
        }
        beam.expansion = { logq: beam.logq, children: aliveLogq.slice(0, alive) }
        for (let i = 0; i < alive; i++) {
          const key = conditionalGumbel(beam.key, perturbed[i], max)
          if (!top.admits(key)) continue
          const e = aliveEdge[i]
          top.insert({ key, score: beam.score + logits[base + b.childCode[e]] - logZ, logq: aliveLogq[i], parent: slot, node: e + 1, token: b.childCode[e] + offset, from: beam, child: i })
        }
      }
      return top.beams
    })
  }
  return beams.map((list, request) => {
    const best = list.slice(0, requests[request].k)
    const result: DecodeResult = { items: best.map(beam => trie.item(beam.node)), scores: best.map(beam => beam.score) }
    if (requests[request].strategy === 'sample') {
      result.probabilities = best.map(beam => Math.exp(beam.logq))
      result.propensities = propensities(best.map(beam => ({ logq: beam.logq, path: path(beam) })))
    }
    return result
  })
}
