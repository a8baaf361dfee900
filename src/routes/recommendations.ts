import { randomUUID } from 'node:crypto'
import { errors } from '../errors.js'
import type { FastifyRequest } from 'fastify'
import type { ModelEntry } from '../model/registry.js'
import { BODY_ERRORS, errorResponses, ref } from '../schemas/common.js'
import type { RecommendInput } from '../model/recommender.js'
import { clientGone, useStore, type App, type RouteDeps } from './deps.js'

/** POST /v1/recommendations and GET /v1/users/{userId}/recommendations: one behaviour, two ways to ask. */
export default async function recommendationRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { registry } = deps
  const s = deps.schemas.recommendations

  /** A filter of categories the catalogue does not have at all would match nothing: 400, naming the field. */
  function checkCategories (entry: ModelEntry, categories: string[] | undefined, field: string): void {
    if (categories === undefined || categories.length === 0 || categories.some(c => entry.recommender.catalogue.hasCategory(c))) return
    throw errors.validation(field, `${field}: no item of the catalogue is in the categories ${JSON.stringify(categories)}`)
  }

  /** beamWidth belongs to beam search, temperature and seed to sampling: a field of the other strategy is refused, not ignored. */
  function checkStrategy (q: { strategy?: string, beamWidth?: number, temperature?: number, seed?: number }, where: string): void {
    const sample = q.strategy === 'sample'
    for (const [field, given, wanted] of [['beamWidth', q.beamWidth, 'beam'], ['temperature', q.temperature, 'sample'], ['seed', q.seed, 'sample']] as const) {
      if (given !== undefined && (wanted === 'sample') !== sample) throw errors.validation(`${where}.${field}`, `${where}.${field} applies to strategy "${wanted}" only`)
    }
  }

  async function respond (entry: ModelEntry, input: Omit<RecommendInput, 'history'> & { history?: string[] }, request: FastifyRequest) {
    const { recommender } = entry
    const m = recommender.manifest
    const log = request.log
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
    const sample = input.strategy === 'sample'
    request.served = `${entry.name}@${m.version}`
    deps.metrics.recommendations.inc({ model: entry.name, version: m.version, strategy: sample ? 'sample' : 'beam' })
    return {
      recommendationId: randomUUID(),
      model: { name: entry.name, version: m.version },
      strategy: sample ? 'sample' as const : 'beam' as const,
      ...(sample && { temperature: input.temperature ?? 1, seed: result.seed }),
      historySource,
      historyLength: result.historyUsed,
      historyReceived: history.length,
      unknownItemIds: result.unknownItemIds,
      unknownCategories: result.unknownCategories,
      items: result.items.map((r, i) => ({
        ...result.catalogue.items[r.itemIndex],
        source: result.catalogue.items[r.itemIndex].source ?? 'export',
        available: true, // hidden items are never recommended
        rank: i + 1,
        score: r.score,
        probability: r.probability ?? Math.exp(r.score),
        ...(r.propensity !== undefined && { propensity: r.propensity })
      }))
    }
  }

  // under overload, refuse before reading and validating the body, when every model would refuse (the body
  // names the model): a refusal must cost next to nothing
  const refuseEarly = async (): Promise<void> => {
    const refusals = registry.all.map(e => e.recommender.refusal())
    if (refusals.every(r => r !== null)) throw refusals[0]
  }

  app.post('/recommendations', {
    config: { userData: true },
    onRequest: refuseEarly,
    schema: {
      tags: ['recommendations'],
      summary: 'Recommend items for a history or a user',
      description: 'Runs the policy constrained to real items: beam search (the k most probable), or sampling without replacement ' +
        '(strategy sample, with propensities for off-policy evaluation). With a userId and no history, the stored history is used.',
      body: ref(s.RecommendationRequest),
      'x-body-examples': s.requestExamples, // moved into the request body's examples (http/openapi.ts)
      response: { 200: ref(s.Recommendation, { description: 'The top k items, best first' }), ...errorResponses(...BODY_ERRORS) }
    }
  }, async (request, reply) => {
    const b = request.body
    const entry = registry.choose(b.model, b.userId)
    checkCategories(entry, b.categories, 'body.categories')
    checkStrategy(b, 'body')
    return await respond(entry, {
      userId: b.userId,
      history: b.history,
      k: b.k ?? 10,
      strategy: b.strategy,
      beamWidth: b.beamWidth ?? entry.recommender.manifest.decoding.defaultBeamWidth,
      temperature: b.temperature,
      seed: b.seed,
      excludeSeen: b.excludeSeen ?? true,
      exclude: b.exclude ?? [],
      categories: b.categories,
      signal: clientGone(reply.raw)
    }, request)
  })

  app.get('/users/:userId/recommendations', {
    config: { userData: true },
    onRequest: refuseEarly,
    schema: {
      tags: ['recommendations'],
      summary: 'Recommend items for a user from the stored history',
      description: 'The same as POST /v1/recommendations with { userId } and no history. Repeat exclude and categories for several values.',
      params: s.UserParams,
      querystring: s.UserRecommendationQuery,
      response: { 200: ref(s.Recommendation, { description: 'The top k items, best first' }), ...errorResponses() }
    }
  }, async (request, reply) => {
    const q = request.query
    const entry = registry.choose(q.model, request.params.userId)
    checkCategories(entry, q.categories, 'query.categories')
    checkStrategy(q, 'query')
    return await respond(entry, {
      userId: request.params.userId,
      k: q.k ?? 10,
      strategy: q.strategy,
      beamWidth: q.beamWidth ?? entry.recommender.manifest.decoding.defaultBeamWidth,
      temperature: q.temperature,
      seed: q.seed,
      excludeSeen: q.excludeSeen ?? true,
      exclude: q.exclude ?? [],
      categories: q.categories,
      signal: clientGone(reply.raw)
    }, request)
  })
}
