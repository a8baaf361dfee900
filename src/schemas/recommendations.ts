import { Type, type Static } from '@sinclair/typebox'
import type { Config } from '../config.js'
import type { CatalogueItem as Item } from '../model/catalogue.js'
import { CatalogueItem, MODEL_NAME, StringEnum, TEXT_PATTERN, ids, ref } from './common.js'

/** The sampling temperature's bounds (scripts/evaluate.mjs scores with the same). */
export const TEMPERATURE = { minimum: 0.01, maximum: 10 }

/** Example values taken from the loaded catalogue, so that the documented examples work on this model. */
export interface Examples { history: string[], items: Item[] }

export function recommendationSchemas (config: Config, defaultBeamWidth: number, modelNames: string[], ex: Examples) {
  const { ItemId, UserId } = ids(config.maxIdLength, ex.history[0])
  const k = Type.Integer({ minimum: 1, maximum: config.maxK, default: 10, description: 'How many items to return' })
  const beamWidth = Type.Integer({
    minimum: 1,
    maximum: config.maxBeamWidth,
    description: `Beam width of the constrained beam search (default ${defaultBeamWidth}); raised to k when smaller`
  })
  const excludeSeen = Type.Boolean({ default: true, description: 'Never recommend items of the history' })
  const strategy = StringEnum(['beam', 'sample'], {
    default: 'beam',
    description: 'beam: the k most probable items (constrained beam search). sample: k distinct items drawn without replacement from the ' +
      'policy (stochastic beam search with the Gumbel-top-k trick, Kool et al. 2019), which spreads exposure; each item carries its propensity',
    example: 'sample'
  })
  const temperature = Type.Number({
    ...TEMPERATURE,
    description: 'sample only (default 1): each level\'s logits are divided by it (below 1: closer to the most probable items; above 1: more spread)',
    example: 1
  })
  const model = Type.String({
    ...MODEL_NAME,
    description: `The model to answer (served: ${modelNames.join(', ')}); default: the user's share of MODEL_SPLIT, else the default model (${modelNames[0]})`,
    example: modelNames[0]
  })
  const seed = Type.Integer({
    minimum: 0,
    maximum: 4294967295,
    description: 'sample only: the same request with the same seed draws the same items; without one, a random seed is used and returned',
    example: 7
  })
  const Category = Type.String({ minLength: 1, maxLength: 200, ...TEXT_PATTERN, description: 'A category, exactly as in the catalogue' })
  const exclude = Type.Array(ItemId, { maxItems: config.maxHistoryItems, description: 'Item ids never to recommend' })
  const categories = Type.Array(Category, {
    maxItems: 20,
    description: 'Only recommend items in any of these categories. Categories the catalogue does not have are reported in unknownCategories; if none is known: 400'
  })

  const beamExample = { userId: 'user-42', history: ex.history, k: 5 }
  const RecommendationRequest = Type.Object({
    model: Type.Optional(model),
    userId: Type.Optional(UserId),
    history: Type.Optional(Type.Array(ItemId, {
      maxItems: config.maxHistoryItems,
      description: 'Item ids, oldest first. When absent and userId is set, the stored history is used'
    })),
    k: Type.Optional(k),
    strategy: Type.Optional(strategy),
    beamWidth: Type.Optional(beamWidth),
    temperature: Type.Optional(temperature),
    seed: Type.Optional(seed),
    excludeSeen: Type.Optional(excludeSeen),
    exclude: Type.Optional(exclude),
    categories: Type.Optional(categories)
  }, {
    $id: 'RecommendationRequest',
    title: 'RecommendationRequest',
    additionalProperties: false,
    description: 'Every field is optional; omit a field for its default (null is refused)',
    examples: [beamExample]
  })
  // OpenAPI 3.0 keeps one example per schema: the request's two uses are named examples of the route's body
  const requestExamples = {
    beam: { summary: 'The k most probable items (beam search, the default)', value: beamExample },
    sample: {
      summary: 'k items drawn without replacement, with propensities; the same seed draws the same items',
      value: { ...beamExample, strategy: 'sample', temperature: 1, seed: 7 }
    }
  }

  const RecommendedItem = Type.Composite([CatalogueItem, Type.Object({
    rank: Type.Integer({ minimum: 1 }),
    score: Type.Number({ description: 'log-probability of the item under the policy (restricted to real items; exclusions and filters never renormalise it)' }),
    probability: Type.Number({
      description: 'beam: exp(score). sample: the probability that the sampler draws this item first: under the policy with the temperature ' +
        'applied and restricted to the allowed items, level by level (a double: at low temperatures it can be below 1e-308 and read 0)'
    }),
    propensity: Type.Optional(Type.Number({
      description: 'sample only: the probability that this item was drawn at this rank given the items above it (Plackett-Luce), for off-policy ' +
        'evaluation; exact to rounding at every temperature, also where probability reads 0'
    }))
  })], { $id: 'RecommendedItem', title: 'RecommendedItem' })

  const Recommendation = Type.Object({
    recommendationId: Type.String({ format: 'uuid' }),
    model: Type.Object({ name: Type.String(), version: Type.String() }, { description: 'The model and version that answered' }),
    strategy: StringEnum(['beam', 'sample']),
    temperature: Type.Optional(Type.Number({ description: 'sample only' })),
    seed: Type.Optional(Type.Integer({ description: 'sample only: send it back to draw the same items' })),
    historySource: StringEnum(['request', 'store', 'none']),
    historyLength: Type.Integer({ description: 'Known history items the model conditioned on: the most recent, at most the model\'s maxHistory' }),
    historyReceived: Type.Integer({ description: 'History items received (from the request or the store), known or not' }),
    unknownItemIds: Type.Array(Type.String(), { description: 'History items the model does not know; they were ignored' }),
    unknownCategories: Type.Array(Type.String(), { description: 'Requested categories the catalogue does not have; they match no item' }),
    items: Type.Array(ref(RecommendedItem))
  }, {
    $id: 'Recommendation',
    title: 'Recommendation',
    examples: [{
      recommendationId: '8ee5dc79-5446-4df9-9175-c409b667739c',
      model: { name: 'beauty-gflowgr', version: '0.3.0' },
      strategy: 'beam',
      historySource: 'request',
      historyLength: ex.history.length,
      historyReceived: ex.history.length,
      unknownItemIds: [],
      unknownCategories: [],
      items: ex.items.map((item, i) => ({ ...item, available: true, source: 'export', rank: i + 1, score: -2.75 - i, probability: Math.exp(-2.75 - i) }))
    }]
  })

  const UserRecommendationQuery = Type.Object({
    model: Type.Optional(model),
    k: Type.Optional(k),
    strategy: Type.Optional(strategy),
    beamWidth: Type.Optional(beamWidth),
    temperature: Type.Optional(temperature),
    seed: Type.Optional(seed),
    excludeSeen: Type.Optional(excludeSeen),
    exclude: Type.Optional(exclude),
    categories: Type.Optional(categories)
  }, { additionalProperties: false, description: 'Repeat a parameter for several values: categories=Makeup&categories=Nails' })

  return { RecommendationRequest, requestExamples, RecommendedItem, Recommendation, UserRecommendationQuery, UserParams: Type.Object({ userId: UserId }) }
}

export type RecommendationRequestBody = Static<ReturnType<typeof recommendationSchemas>['RecommendationRequest']>
