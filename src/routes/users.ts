import { randomUUID } from 'node:crypto'
import { errors } from '../errors.js'
import type { HistoryEvent } from '../history/store.js'
import { BODY_ERRORS, errorResponses, ref } from '../schemas/common.js'
import { useStore, type App, type RouteDeps } from './deps.js'

interface EventInput { itemId: string, eventId?: string, type?: string, timestamp?: string }

/** The stored form of an event: every event gets an eventId (made here when absent), so that a retry after an unknown outcome is safe. */
function toEvent (e: EventInput): HistoryEvent & { eventId: string } {
  return { itemId: e.itemId, eventId: e.eventId ?? randomUUID(), type: e.type ?? 'interaction', timestamp: e.timestamp ?? new Date().toISOString() }
}

/**
 * Events as stored: timestamps in one form (UTC, milliseconds, Z), whatever RFC 3339 spelling came in, so that
 * the export always feeds the training pipeline; one that names no real instant (a leap second) is refused.
 */
function toEvents (events: EventInput[], field: (i: number) => string): Array<HistoryEvent & { eventId: string }> {
  return events.map((e, i) => {
    const event = toEvent(e)
    const instant = Date.parse(event.timestamp)
    if (Number.isNaN(instant)) throw errors.validation(field(i), `${field(i)} is not an instant this service can store (a leap second?)`)
    return { ...event, timestamp: new Date(instant).toISOString() }
  })
}

export default async function userRoutes (app: App, deps: RouteDeps): Promise<void> {
  const s = deps.schemas.users
  // unknown to the default model (with several models, an item may be known to one and not another)
  const unknown = (events: EventInput[]) => {
    const catalogue = deps.registry.get().recommender.catalogue
    return [...new Set(events.map(e => e.itemId).filter(id => catalogue.indexOf(id) === undefined))]
  }

  app.post('/users/:userId/events', {
    config: { userData: true },
    schema: {
      tags: ['users'],
      summary: 'Record interactions (appended to the stored history; repeated eventIds are stored once)',
      description: 'After a 503 history_store_unavailable (details.outcome "unknown" or "not_written"), retry with the eventIds in ' +
        'details.eventIds: events already stored are then reported as duplicates, never stored twice.',
      params: s.UserParams,
      body: ref(s.EventsRequest),
      response: { 200: ref(s.EventsResponse, { description: 'What was stored' }), ...errorResponses(...BODY_ERRORS) }
    }
  }, async (request) => {
    const body = request.body as EventInput | { events: EventInput[] }
    const events = 'events' in body ? toEvents(body.events, i => `body.events.${i}.timestamp`) : toEvents([body], () => 'body.timestamp')
    const eventIds = events.map(e => e.eventId)
    const result = await useStore(deps, request.log, async store => await store.append(request.params.userId, events), { eventIds })
    return { accepted: result.accepted, duplicates: result.duplicates, historyLength: result.length, eventIds, unknownItemIds: unknown(events) }
  })

  app.get('/users/:userId/history', {
    config: { userData: true },
    schema: {
      tags: ['users'],
      summary: 'Read a user\'s stored history',
      params: s.UserParams,
      response: { 200: ref(s.History, { description: 'The stored events, oldest first' }), ...errorResponses() }
    }
  }, async (request) => {
    const { userId } = request.params
    const events = await useStore(deps, request.log, async store => await store.get(userId))
    if (events.length === 0) throw errors.notFound('user', userId)
    return { userId, events }
  })

  app.put('/users/:userId/history', {
    config: { userData: true },
    schema: {
      tags: ['users'],
      summary: 'Replace a user\'s stored history',
      description: 'Events with a repeated eventId are stored once. An empty list forgets the user (GET then answers 404).',
      params: s.UserParams,
      body: ref(s.HistoryRequest),
      response: { 200: ref(s.History, { description: 'The stored events, oldest first' }), ...errorResponses(...BODY_ERRORS) }
    }
  }, async (request) => {
    const { userId } = request.params
    const events = toEvents(request.body.events, i => `body.events.${i}.timestamp`)
    await useStore(deps, request.log, async store => await store.replace(userId, events), { eventIds: events.map(e => e.eventId) })
    return { userId, events: await useStore(deps, request.log, async store => await store.get(userId)) }
  })

  app.delete('/users/:userId/history', {
    config: { userData: true },
    schema: {
      tags: ['users'],
      summary: 'Forget a user',
      params: s.UserParams,
      response: { 204: { type: 'null', description: 'Forgotten' }, ...errorResponses() }
    }
  }, async (request, reply) => {
    const { userId } = request.params
    if (!await useStore(deps, request.log, async store => await store.delete(userId))) throw errors.notFound('user', userId)
    return await reply.code(204).send()
  })
}
