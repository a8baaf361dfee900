// Exact sampling of k distinct items without replacement from the policy, by stochastic beam search with
// the Gumbel-top-k trick (W. Kool, H. van Hoof, M. Welling, "Stochastic Beams and Where to Find Them",
// ICML 2019). Each node of the trie gets a Gumbel-perturbed log-probability; a child's perturbation is
// drawn conditioned on its siblings' maximum being its parent's, so that the k leaves with the largest
// perturbed values, found by a beam of width k, are exactly a sample without replacement, in sampling order.
//
// The distribution sampled is the policy's forward policy P_F with every level's logits divided by the
// temperature and restricted to the children with at least one allowed item below (the trie, exclusions,
// filters): q(item) = prod_l softmax_{alive children}(logits_l / T)[code_l].

/** A seeded generator of uniform numbers in (0, 1): mulberry32 (32-bit state), one stream per request. */
export function createRng (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return (((x ^ (x >>> 14)) >>> 0) + 0.5) / 4294967296 // never 0 or 1
  }
}

/** A standard Gumbel sample: -log(-log(U)). */
export function gumbel (rng: () => number): number {
  return -Math.log(-Math.log(rng()))
}

/** log(1 - exp(x)) for x <= 0, accurately on both sides of -log 2 (Maechler, 2012). */
function log1mexp (x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x))
}

/**
 * A child's perturbed value given its unconditioned sample `perturbed`, the maximum `max` of its siblings'
 * samples and its parent's value `parent`: -log(exp(-parent) - exp(-max) + exp(-perturbed)), computed
 * stably (Kool et al. 2019, appendix B). The child that drew the maximum gets exactly `parent`.
 */
export function conditionalGumbel (parent: number, perturbed: number, max: number): number {
  const v = parent - perturbed + log1mexp(perturbed - max)
  return parent - Math.max(0, v) - Math.log1p(Math.exp(-Math.abs(v)))
}

/** A trie node the sampler expanded: its own log q, and its alive children's (absolute, not per level). */
export interface Expansion { logq: number, children: Float64Array }

/** One step of a drawn item's path: the node expanded and which of its alive children the path took. */
export interface Step { expansion: Expansion, child: number }

/** log-sum-exp of values[0..n); -Infinity when there are none (or all are -Infinity). */
export function logSumExp (values: Float64Array, n: number): number {
  let max = -Infinity
  for (let i = 0; i < n; i++) if (values[i] > max) max = values[i]
  if (max === -Infinity) return max
  let sum = 0
  for (let i = 0; i < n; i++) sum += Math.exp(values[i] - max)
  return max + Math.log(sum)
}

/** log of the summed q of the children not drawn yet; -Infinity when every child is drawn. */
function logMassNotDrawn (children: Float64Array, drawn: Uint8Array): number {
  let max = -Infinity
  for (let i = 0; i < children.length; i++) if (drawn[i] === 0 && children[i] > max) max = children[i]
  if (max === -Infinity) return max
  let sum = 0
  for (let i = 0; i < children.length; i++) if (drawn[i] === 0) sum += Math.exp(children[i] - max)
  return max + Math.log(sum)
}

/**
 * Plackett-Luce propensities of items drawn without replacement, in drawing order: the probability that the
 * item at rank r was drawn there given the items above it, q_r / (the mass not yet drawn).
 * That mass is not 1 - sum_{j<r} q_j: that is 0 once a q_j rounds to 1 (a dominant item at a low temperature)
 * and loses every digit of the later ranks. It is the sum, over every node on a drawn path, of its alive
 * children off the drawn paths: the subtrees not drawn from, which partition what is left. Each node's share
 * is kept in log space and lowered by subtracting its drawn children only while it stays above half of its
 * last exact sum (each subtraction's rounding is then amplified at most twice); below that it is summed again
 * over the children left.
 * draws[r]: item r's log q, and its path from the root, one step per level.
 */
export function propensities (draws: Array<{ logq: number, path: Step[] }>): number[] {
  // per node on a drawn path: which children are drawn, the log mass of the others (and that mass itself, for
  // summing without an exp per node and rank), and its last exact sum
  const left = new Map<Expansion, { drawn: Uint8Array, logMass: number, mass: number, summed: number }>()
  return draws.map(({ logq, path }, rank) => {
    let sum = 0
    for (const node of left.values()) sum += node.mass
    // the first draw has all of q; below 1e-290 the masses may be subnormal or 0: summed in log space instead
    const logLeft = rank === 0 ? 0 : sum > 1e-290 ? Math.log(sum) : logSumExp(Float64Array.from(left.values(), node => node.logMass), left.size)
    for (const { expansion, child } of path) {
      let node = left.get(expansion)
      if (node === undefined) left.set(expansion, node = { drawn: new Uint8Array(expansion.children.length), logMass: expansion.logq, mass: 0, summed: expansion.logq })
      if (node.drawn[child] === 1) continue // a prefix drawn before: this node's share is unchanged
      node.drawn[child] = 1
      const lowered = node.logMass + Math.log1p(-Math.min(1, Math.exp(expansion.children[child] - node.logMass)))
      if (lowered >= node.summed - Math.LN2) node.logMass = lowered
      else node.logMass = node.summed = logMassNotDrawn(expansion.children, node.drawn)
      node.mass = Math.exp(node.logMass)
    }
    return Math.min(1, Math.exp(logq - logLeft))
  })
}
