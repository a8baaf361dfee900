import { Type } from '@sinclair/typebox'
import { errors } from '../errors.js'
import { MODEL_NAME, StringEnum, TEXT_PATTERN, errorResponses, ids, ref } from '../schemas/common.js'
import type { App, RouteDeps } from './deps.js'

export default async function itemRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { ItemId } = ids(deps.config.maxIdLength, deps.schemas.examples.items[0]?.itemId)
  const Model = Type.Optional(Type.String({ ...MODEL_NAME, description: 'The model whose catalogue to read; default: the default model', example: deps.registry.defaultName }))
  const { CatalogueItem, examples } = deps.schemas
  const example = examples.items[0] === undefined ? undefined : { ...examples.items[0], available: true, source: 'export' }

  app.get('/items/:itemId', {
    schema: {
      tags: ['items'],
      summary: 'Look up one item of the catalogue',
      params: Type.Object({ itemId: ItemId }),
      querystring: Type.Object({ model: Model }, { additionalProperties: false }),
      response: { 200: ref(CatalogueItem, { description: 'The item' }), ...errorResponses() }
    }
  }, async (request) => {
    const { recommender } = deps.registry.get(request.query.model)
    const item = recommender.catalogue.get(request.params.itemId)
    if (item === undefined) throw errors.notFound('item', request.params.itemId)
    return { ...item, available: recommender.isAvailable(item.itemId), source: item.source ?? 'export' }
  })

  app.get('/items', {
    schema: {
      tags: ['items'],
      summary: 'Search the catalogue (every word must occur in the id, title, brand or categories)',
      querystring: Type.Object({
        q: Type.Optional(Type.String({ maxLength: 200, default: '', ...TEXT_PATTERN, description: 'Words to look for, case-insensitive; empty lists the catalogue' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'At most this many items' })),
        source: Type.Optional(StringEnum(['export', 'added'], { description: 'Only exported items, or only items added at run time' })),
        model: Model
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          items: Type.Array(ref(CatalogueItem)),
          total: Type.Integer({ description: 'Items in the catalogue' })
        }, { description: 'Matching items, in catalogue order', examples: [{ items: [example], total: deps.registry.get().recommender.catalogue.size }] }),
        ...errorResponses()
      }
    }
  }, async (request) => {
    const { recommender } = deps.registry.get(request.query.model)
    const source = request.query.source
    const items = recommender.catalogue.search(request.query.q ?? '', request.query.limit ?? 20, source === undefined ? undefined : item => (item.source ?? 'export') === source)
    return { items: items.map(item => ({ ...item, available: recommender.isAvailable(item.itemId), source: item.source ?? 'export' })), total: recommender.catalogue.size }
  })
}
