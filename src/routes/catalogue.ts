// The living catalogue: hiding items from recommendations and restoring them, one at a time or by the
// thousand. Writes need an admin key (auth 'admin'): they change what every user is shown. The state is
// kept in the store and reaches every replica within CATALOGUE_POLL_MS.
import { Type } from '@sinclair/typebox'
import { AppError, errors } from '../errors.js'
import type { AddedItem } from '../catalogue/store.js'
import { BODY_ERRORS, TEXT_PATTERN, errorResponses } from '../schemas/common.js'
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

/** Adding, changing and removing items at run time (cold start): each model places them by content. */
export async function addedItemRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { ItemId } = deps.schemas.ids
  const { registry, sync } = deps
  const exported = (itemId: string) => registry.all.some(e => e.recommender.exported.indexOf(itemId) !== undefined)
  const Text = (max: number, description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: max, ...TEXT_PATTERN, description }))
  const Content = {
    title: Text(500, 'Shown to users, and read by the content encoder'),
    brand: Text(200, 'Read by the content encoder'),
    categories: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200, ...TEXT_PATTERN }), { maxItems: 20, description: 'Used by category filters, and read by the content encoder' })),
    description: Text(5000, 'Read by the content encoder only')
  }
  const example = { itemId: 'NEW-0001', title: 'Hydrating Rose Face Serum', brand: 'Petal', categories: ['Beauty', 'Skin Care', 'Face', 'Serums'], description: 'A light serum with rose water.' }
  const NewItem = Type.Object({ itemId: ItemId, ...Content }, { additionalProperties: false, examples: [example] })
  const ChangedItem = Type.Object(Content, { additionalProperties: false, examples: [{ title: example.title, brand: example.brand, categories: example.categories }] })
  const AddedItemId = Type.Object({ itemId: Type.String({ ...ItemId, example: example.itemId }) })
  const Placed = Type.Object({
    itemId: Type.String(),
    catalogueVersion: Type.Integer(),
    models: Type.Array(Type.Object({
      name: Type.String(),
      semanticId: Type.Optional(Type.Array(Type.Integer(), { description: 'Where this model placed it' })),
      reason: Type.Optional(Type.String({ description: 'Why this model could not place it: no_content_encoder (the model has none), no_known_words (no word of the text is in its vocabulary), prefix_full (no free code under the nearest prefixes), exported_item (the id is in its catalogue), not_applied (not in this replica\'s view yet)' }))
    }))
  }, { examples: [{ itemId: example.itemId, catalogueVersion: 9, models: [{ name: registry.defaultName, semanticId: [17, 124, 72, 3] }] }] })

  /** Every model's placement of the item's content against the state just read; refused when none can place it. */
  function place (item: AddedItem) {
    const models = registry.all.map(({ name, recommender }) => ({ name, placement: recommender.place(item, sync.current) }))
    if (!models.some(m => 'semanticId' in m.placement)) {
      throw new AppError('item_not_placed', `no served model can place item "${item.itemId}"`, { models: Object.fromEntries(models.map(m => [m.name, (m.placement as { reason: string }).reason])) })
    }
    return models
  }

  /** Saves the item; the caller has just refreshed the state (to check the item's id against it). */
  async function save (item: AddedItem, log: Parameters<typeof useStore>[1]) {
    place(item)
    const catalogueVersion = await useStore(deps, log, async store => await store.putItem(item))
    await useStore(deps, log, async () => await sync.refresh())
    return {
      itemId: item.itemId,
      catalogueVersion,
      models: registry.all.map(({ name, recommender }) => {
        const p = recommender.view.placements.get(item.itemId)
        return p === undefined ? { name, reason: 'not_applied' } : 'semanticId' in p ? { name, semanticId: p.semanticId } : { name, reason: p.reason }
      })
    }
  }

  const content = (itemId: string, body: Partial<AddedItem>, addedAt: string): AddedItem =>
    ({ itemId, title: body.title ?? null, brand: body.brand ?? null, categories: body.categories ?? [], description: body.description ?? null, addedAt })

  app.post('/items', {
    config: { auth: 'admin' },
    schema: {
      tags: ['items'],
      summary: 'Add a new item: recommendable at once, with a semantic ID from its content (no retraining)',
      description: 'Each model with a content encoder places the item by its text (title, brand, categories, description): the codes its ' +
        'exported encoder gives (for a model trained with format 2, the tokenizer\'s own: text fused with the collaborative embeddings of the ' +
        'catalogue items nearest by text), and the first free last code under that prefix; when the prefix has none, the nearest prefix that ' +
        'differs in the last quantised level and has one (up to 32 are tried). Every replica adds it within CATALOGUE_POLL_MS. Needs an admin key.',
      body: NewItem,
      response: { 201: { ...Placed, description: 'Added' }, ...errorResponses(403, 409, ...BODY_ERRORS) }
    }
  }, async (request, reply) => {
    const { itemId } = request.body
    // PUT /v1/items/availability is the bulk route: an item of that id could never be changed
    if (itemId === 'availability') throw errors.validation('body.itemId', 'body.itemId "availability" is reserved (PUT /v1/items/availability is the bulk availability route)')
    if (exported(itemId)) throw new AppError('item_exists', `item "${itemId}" is in an exported catalogue: hide or restore it with PUT /v1/items/${itemId}/availability`, { id: itemId })
    await useStore(deps, request.log, async () => await sync.refresh())
    if (sync.current.added.some(a => a.itemId === itemId)) throw new AppError('item_exists', `item "${itemId}" was added already: change it with PUT /v1/items/${itemId}`, { id: itemId })
    return await reply.code(201).send(await save(content(itemId, request.body, new Date().toISOString()), request.log))
  })

  app.put('/items/:itemId', {
    config: { auth: 'admin' },
    schema: {
      tags: ['items'],
      summary: 'Change an added item\'s content (its semantic ID is computed again)',
      params: AddedItemId,
      body: ChangedItem,
      response: { 200: { ...Placed, description: 'Changed' }, ...errorResponses(403, 409, ...BODY_ERRORS) }
    }
  }, async (request) => {
    const { itemId } = request.params
    if (exported(itemId)) throw new AppError('item_exists', `item "${itemId}" is an exported item: only its availability can change`, { id: itemId })
    await useStore(deps, request.log, async () => await sync.refresh())
    const previous = sync.current.added.find(a => a.itemId === itemId)
    if (previous === undefined) throw errors.notFound('item', itemId)
    return await save(content(itemId, request.body, previous.addedAt), request.log)
  })

  app.delete('/items/:itemId', {
    config: { auth: 'admin' },
    schema: {
      tags: ['items'],
      summary: 'Remove an added item (an exported item can only be hidden)',
      params: AddedItemId,
      response: { 204: { type: 'null', description: 'Removed' }, ...errorResponses(403, 409) }
    }
  }, async (request, reply) => {
    const { itemId } = request.params
    if (exported(itemId)) throw new AppError('item_exists', `item "${itemId}" is an exported item: hide it with PUT /v1/items/${itemId}/availability`, { id: itemId })
    const version = await useStore(deps, request.log, async store => await store.deleteItem(itemId))
    if (version === null) throw errors.notFound('item', itemId)
    await useStore(deps, request.log, async () => await sync.refresh())
    return await reply.code(204).send()
  })
}
