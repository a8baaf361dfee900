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

/**
 * Plackett-Luce propensities of a ranking drawn without replacement: the probability that the item at rank r
 * was drawn there given the items above it, q_r / (1 - sum_{j<r} q_j).
 */
export function propensities (probabilities: number[]): number[] {
  let taken = 0
  return probabilities.map(q => {
    const p = q / Math.max(1 - taken, Number.MIN_VALUE)
    taken += q
    return Math.min(1, p)
  })
}
