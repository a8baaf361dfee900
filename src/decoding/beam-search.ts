// Batched beam search constrained by the item trie; runs inside an inference worker.
//
// Per level: one decoder call for the whole batch, laid out as [requests, beams] (requests with fewer
// live beams are padded; padding rows are ignored), then, per request, log-softmax over each beam's trie children (normalised over the catalogue's structure, so a score is
// the item's log-probability under the policy whatever is excluded), children whose subtree holds no
// allowed item are skipped (dead), and the best `beamWidth` of beams x children survive.
import { LeafMask, type Trie } from './trie.js'

export interface TokenLayout { pad: number, bos: number, levelOffsets: number[], maxHistory: number }

export interface DecodeRequest {
  history: Int32Array // item indices, oldest first
  userToken: number
  beamWidth: number
  k: number
  exclude: Int32Array // item indices that must not be recommended
  allow: Int32Array | null // when set, only these item indices may be recommended
}

export interface DecodeResult { items: number[], scores: number[] }

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

interface Beam { node: number, score: number, token: number, parent: number }

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

/** Keeps the `width` best candidates in descending score; equal scores keep their arrival order. */
class TopCandidates {
  readonly score: number[] = []
  readonly beam: number[] = []
  readonly node: number[] = []
  readonly code: number[] = []
  constructor (private readonly width: number) {}

  offer (score: number, beam: number, node: number, code: number): void {
    const n = this.score.length
    if (n === this.width && score <= this.score[n - 1]) return
    let at = n
    while (at > 0 && this.score[at - 1] < score) at--
    this.score.splice(at, 0, score); this.beam.splice(at, 0, beam); this.node.splice(at, 0, node); this.code.splice(at, 0, code)
    if (this.score.length > this.width) { this.score.pop(); this.beam.pop(); this.node.pop(); this.code.pop() }
  }
}

/** deadline: a Date.now() value; past it the search throws DeadlineExceeded before the next policy call. */
export async function beamSearch<E> (policy: Policy<E>, trie: Trie, codes: Int32Array, layout: TokenLayout,
  requests: DecodeRequest[], deadline = Infinity): Promise<DecodeResult[]> {
  const { tokens, length } = historyTokens(requests, codes, layout)
  const users = BigInt64Array.from(requests.map(r => BigInt(r.userToken)))
  const state = await policy.encode(tokens, requests.length, length, users)
  const masks = requests.map(r => new LeafMask(trie, codes, r.exclude, r.allow))
  let beams: Beam[][] = masks.map(mask => mask.alive(0) > 0 ? [{ node: 0, score: 0, token: layout.bos, parent: 0 }] : [])
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
      const top = new TopCandidates(requests[request].beamWidth)
      list.forEach((beam, slot) => {
        const base = (request * width + slot) * policy.width
        const first = b.firstChild[beam.node]; const end = first + b.childCount[beam.node]
        let max = -Infinity
        for (let e = first; e < end; e++) max = Math.max(max, logits[base + b.childCode[e]])
        let sum = 0
        for (let e = first; e < end; e++) sum += Math.exp(logits[base + b.childCode[e]] - max)
        const logZ = max + Math.log(sum)
        for (let e = first; e < end; e++) {
          if (masks[request].alive(e + 1) > 0) top.offer(beam.score + logits[base + b.childCode[e]] - logZ, slot, e + 1, b.childCode[e])
        }
      })
      return top.score.map((score, i) => ({ node: top.node[i], score, token: top.code[i] + layout.levelOffsets[level], parent: top.beam[i] }))
    })
  }
  return beams.map((list, request) => {
    const best = list.slice(0, requests[request].k)
    return { items: best.map(beam => trie.item(beam.node)), scores: best.map(beam => beam.score) }
  })
}
