import { Type } from '@sinclair/typebox'
import type { Config } from '../config.js'
import { CatalogueItem, ids } from './common.js'

export function recommendationSchemas (config: Config, defaultBeamWidth: number) {
  const { ItemId, UserId } = ids(config.maxIdLength)
  const k = Type.Integer({ minimum: 1, maximum: config.maxK, default: 10, description: 'How many items to return' })
  const beamWidth = Type.Integer({
    minimum: 1,
    maximum: config.maxBeamWidth,
    description: `Beam width of the constrained beam search (default ${defaultBeamWidth}); raised to k when smaller`
  })
  const excludeSeen = Type.Boolean({ default: true, description: 'Never recommend items of the history' })
  const Category = Type.String({ minLength: 1, maxLength: 200 })

  const RecommendationBody = Type.Object({
    userId: Type.Optional(UserId),
    history: Type.Optional(Type.Array(ItemId, {
      maxItems: config.maxHistoryItems,
      description: 'Item ids, oldest first. When absent and userId is set, the stored history is used'
    })),
    k: Type.Optional(k),
    beamWidth: Type.Optional(beamWidth),
    excludeSeen: Type.Optional(excludeSeen),
    exclude: Type.Optional(Type.Array(ItemId, { maxItems: config.maxHistoryItems, description: 'Item ids never to recommend' })),
    categories: Type.Optional(Type.Array(Category, { maxItems: 20, description: 'Only recommend items in any of these categories' }))
  }, {
    additionalProperties: false,
    examples: [{ userId: 'user-42', history: ['B004756YJA', 'B004ZT0SSG'], k: 10 }]
  })

  const RecommendedItem = Type.Intersect([CatalogueItem, Type.Object({
    rank: Type.Integer({ minimum: 1 }),
    score: Type.Number({ description: 'log-probability of the item under the policy (restricted to real items)' }),
    probability: Type.Number({ description: 'exp(score)' })
  })])

  const RecommendationResponse = Type.Object({
    recommendationId: Type.String({ format: 'uuid' }),
    model: Type.Object({ name: Type.String(), version: Type.String() }),
    historySource: Type.Union([Type.Literal('request'), Type.Literal('store'), Type.Literal('none')]),
    historyLength: Type.Integer({ description: 'Known history items the model conditioned on (at most the model\'s maxHistory most recent are used)' }),
    unknownItemIds: Type.Array(Type.String(), { description: 'History items the model does not know; they were ignored' }),
    items: Type.Array(RecommendedItem)
  })

  const UserRecommendationQuery = Type.Object({
    k: Type.Optional(k),
    beamWidth: Type.Optional(beamWidth),
    excludeSeen: Type.Optional(excludeSeen),
    categories: Type.Optional(Type.String({ maxLength: 2000, description: 'Comma-separated categories' }))
  }, { additionalProperties: false })

  return { RecommendationBody, RecommendationResponse, UserRecommendationQuery, UserParams: Type.Object({ userId: UserId }) }
}
