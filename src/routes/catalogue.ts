// The living catalogue: hiding items from recommendations and restoring them, one at a time or by the
// thousand. Writes need an admin key (auth 'admin'): they change what every user is shown. The state is
// kept in the store and reaches every replica within CATALOGUE_POLL_MS.
import { Type } from '@sinclair/typebox'
import { AppError } from '../errors.js'
import { BODY_ERRORS, errorResponses } from '../schemas/common.js'
import { useStore, type App, type RouteDeps } from './deps.js'

export const MAX_BULK_ITEMS = 10_000

export default async function catalogueRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { ItemId } = deps.schemas.ids
  const known = (itemId: string) => deps.registry.all.some(e => e.recommender.catalogue.indexOf(itemId) !== undefined)
  const Availability = Type.Object({
    available: Type.Boolean({ description: 'false: never recommended (by either strategy), applied while decoding; true: recommended again' })
  }, { additionalProperties: false, examples: [{ available: false }] })

  async function apply (changes: Array<{ itemId: string, available: boolean }>, log: Parameters<typeof useStore>[1]): Promise<number> {
    const version = await useStore(deps, log, async store => await store.setAvailability(changes))
    await useStore(deps, log, async () => await deps.sync.refresh()) // this replica at once; the others at their next poll
    return version
  }

  app.put('/items/:itemId/availability', {
    config: { auth: 'admin' },
    schema: {
      tags: ['items'],
      summary: 'Hide an item from recommendations, or restore it',
      description: 'Every replica applies the change within CATALOGUE_POLL_MS (500 ms by default). Needs an admin key.',
      params: Type.Object({ itemId: ItemId }),
      body: Availability,
      response: {
        200: Type.Object({ itemId: Type.String(), available: Type.Boolean(), catalogueVersion: Type.Integer() },
          { description: 'Applied', examples: [{ itemId: deps.schemas.examples.items[0]?.itemId ?? 'B004756YJA', available: false, catalogueVersion: 7 }] }),
        ...errorResponses(403, ...BODY_ERRORS)
      }
    }
  }, async (request) => {
    const { itemId } = request.params
    if (!known(itemId)) throw new AppError('item_not_found', `item "${itemId}" is in no served catalogue`, { id: itemId })
    const catalogueVersion = await apply([{ itemId, available: request.body.available }], request.log)
    return { itemId, available: request.body.available, catalogueVersion }
  })

  app.put('/items/availability', {
    config: { auth: 'admin' },
    bodyLimit: MAX_BULK_ITEMS * (4 * deps.config.maxIdLength + 64) + 1024,
    schema: {
      tags: ['items'],
      summary: `Hide or restore up to ${MAX_BULK_ITEMS.toLocaleString('en')} items in one call`,
      description: 'Applied atomically, as one version. Item ids no served catalogue has are reported and left out. Needs an admin key.',
      body: Type.Object({
        items: Type.Array(Type.Object({ itemId: ItemId, available: Type.Boolean() }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_BULK_ITEMS })
      }, { additionalProperties: false, examples: [{ items: deps.schemas.examples.history.map((itemId, i) => ({ itemId, available: i % 2 === 0 })) }] }),
      response: {
        200: Type.Object({ updated: Type.Integer(), unknownItemIds: Type.Array(Type.String()), catalogueVersion: Type.Integer() },
          { description: 'Applied', examples: [{ updated: 3, unknownItemIds: [], catalogueVersion: 8 }] }),
        ...errorResponses(403, ...BODY_ERRORS)
      }
    }
  }, async (request) => {
    const changes = request.body.items.filter(c => known(c.itemId))
    const unknownItemIds = [...new Set(request.body.items.filter(c => !known(c.itemId)).map(c => c.itemId))]
    const catalogueVersion = changes.length > 0 ? await apply(changes, request.log) : deps.sync.version
    return { updated: changes.length, unknownItemIds, catalogueVersion }
  })
}
