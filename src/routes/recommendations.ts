import { randomUUID } from 'node:crypto'
import { errorResponses } from '../schemas/common.js'
import { recommendationSchemas } from '../schemas/recommendations.js'
import type { RecommendInput } from '../model/recommender.js'
import { useStore, type App, type Deps } from './deps.js'
import type { FastifyBaseLogger } from 'fastify'

export default async function recommendationRoutes (app: App, deps: Deps): Promise<void> {
  const { recommender, config } = deps
  const m = recommender.manifest
  const s = recommendationSchemas(config, m.decoding.defaultBeamWidth)

  async function respond (input: Omit<RecommendInput, 'history'> & { history?: string[] }, log: FastifyBaseLogger) {
    let history = input.history
    let historySource: 'request' | 'store' | 'none' = 'request'
    if (history === undefined) {
      if (input.userId !== undefined) {
        const userId = input.userId
        history = (await useStore(deps, log, async store => await store.get(userId))).map(e => e.itemId)
        historySource = 'store'
      } else {
        history = []
        historySource = 'none'
      }
    }
    const result = await recommender.recommend({ ...input, history })
    return {
      recommendationId: randomUUID(),
      model: { name: m.name, version: m.version },
      historySource,
      historyLength: history.length - result.unknownItemIds.length,
      unknownItemIds: result.unknownItemIds,
      items: result.items.map((r, i) => ({
        ...recommender.catalogue.items[r.itemIndex],
        rank: i + 1,
        score: r.score,
        probability: Math.exp(r.score)
      }))
    }
  }

  app.post('/v1/recommendations', {
    schema: {
      tags: ['recommendations'],
      summary: 'Recommend items for a history or a user',
      description: 'Runs the policy with beam search constrained to real items. With a userId and no history, the stored history is used.',
      body: s.RecommendationBody,
      response: { 200: s.RecommendationResponse, ...errorResponses }
    }
  }, async (request) => {
    const b = request.body
    return await respond({
      userId: b.userId,
      history: b.history,
      k: b.k ?? 10,
      beamWidth: b.beamWidth ?? m.decoding.defaultBeamWidth,
      excludeSeen: b.excludeSeen ?? true,
      exclude: b.exclude ?? [],
      categories: b.categories
    }, request.log)
  })

  app.get('/v1/users/:userId/recommendations', {
    schema: {
      tags: ['recommendations'],
      summary: 'Recommend items for a user from the stored history',
      params: s.UserParams,
      querystring: s.UserRecommendationQuery,
      response: { 200: s.RecommendationResponse, ...errorResponses }
    }
  }, async (request) => {
    const q = request.query
    return await respond({
      userId: request.params.userId,
      k: q.k ?? 10,
      beamWidth: q.beamWidth ?? m.decoding.defaultBeamWidth,
      excludeSeen: q.excludeSeen ?? true,
      exclude: [],
      categories: q.categories?.split(',').map(c => c.trim()).filter(Boolean)
    }, request.log)
  })
}
