// A small fake policy at the decoder's seam, shared by the beam search and sampling tests.
import type { DecodeRequest, Policy, TokenLayout } from '../../src/decoding/beam-search.js'

// 12 items over 3 levels of codebooks (3, 3, 2)
export const CODES = Int32Array.from([
  0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 2, 0, 1, 2, 1, 2, 0, 0, 2, 1, 0, 2, 1, 1, 2, 2, 0, 1, 1, 0
])
export const N = CODES.length / 3
export const LAYOUT: TokenLayout = { pad: 0, bos: 1, levelOffsets: [2, 5, 8], maxHistory: 4 }

/** A small fake policy at the seam: logits are a fixed pseudo-random function of user, history and prefix. */
export interface FakeState { seeds: number[], prefixes: number[][][] } // per request, per beam slot: the tokens so far

export class FakePolicy implements Policy<FakeState> {
  readonly width = 3
  async encode (tokens: BigInt64Array, batch: number, length: number, users: BigInt64Array): Promise<FakeState> {
    const seeds = Array.from({ length: batch }, (_, b) => {
      let seed = Number(users[b])
      for (let i = 0; i < length * 3; i++) {
        const t = Number(tokens[b * length * 3 + i])
        if (t !== LAYOUT.pad) seed = (seed * 31 + t) % 1000003 // like the real model, blind to padding
      }
      return seed
    })
    return { seeds, prefixes: seeds.map(() => [[]]) }
  }

  logits (seed: number, prefix: number[]): number[] {
    let s = seed
    for (const t of prefix) s = (s * 17 + t) % 1000003
    return [0, 1, 2].map(c => 3 * Math.sin(s * 0.37 + c * 1.91))
  }

  async step (state: FakeState, tokens: BigInt64Array, parents: BigInt64Array, batch: number, beams: number): Promise<Float32Array> {
    const out = new Float32Array(batch * beams * 3)
    state.prefixes = state.prefixes.map((previous, b) => Array.from({ length: beams }, (_, slot) => {
      const prefix = [...(previous[Number(parents[b * beams + slot])] ?? []), Number(tokens[b * beams + slot])]
      out.set(this.logits(state.seeds[b], prefix), (b * beams + slot) * 3)
      return prefix
    }))
    return out
  }
}

export function request (history: number[], more: Partial<DecodeRequest> = {}): DecodeRequest {
  return { history: Int32Array.from(history), userToken: 11, strategy: 'beam', beamWidth: N, k: N, temperature: 1, seed: 0, exclude: new Int32Array(), allow: null, snapshot: 0, ...more }
}

