import { Type } from '@sinclair/typebox'
import { errors } from '../errors.js'
import { CatalogueItem, errorResponses, ids } from '../schemas/common.js'
import type { App, Deps } from './deps.js'

export default async function itemRoutes (app: App, deps: Deps): Promise<void> {
  const { ItemId } = ids(deps.config.maxIdLength)
  const catalogue = deps.recommender.catalogue

  app.get('/v1/items/:itemId', {
    schema: { tags: ['items'], summary: 'Look up one item of the catalogue', params: Type.Object({ itemId: ItemId }), response: { 200: CatalogueItem, ...errorResponses } }
  }, async (request) => {
    const item = catalogue.get(request.params.itemId)
    if (item === undefined) throw errors.notFound('item', request.params.itemId)
    return item
  })

  app.get('/v1/items', {
    schema: {
      tags: ['items'],
      summary: 'Search the catalogue (every word must occur in the id, title, brand or categories)',
      querystring: Type.Object({
        q: Type.Optional(Type.String({ maxLength: 200, default: '' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 }))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(CatalogueItem), total: Type.Integer({ description: 'Items in the catalogue' }) }), ...errorResponses }
    }
  }, async (request) => {
    return { items: catalogue.search(request.query.q ?? '', request.query.limit ?? 20), total: catalogue.size }
  })
}
