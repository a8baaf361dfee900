import { errors } from '../errors.js'
import type { HistoryEvent } from '../history/store.js'
import { errorResponses } from '../schemas/common.js'
import { userSchemas } from '../schemas/users.js'
import { useStore, type App, type Deps } from './deps.js'

interface EventInput { itemId: string, eventId?: string, type?: string, timestamp?: string }

function toEvent (e: EventInput): HistoryEvent {
  return { itemId: e.itemId, ...(e.eventId !== undefined && { eventId: e.eventId }), type: e.type ?? 'interaction', timestamp: e.timestamp ?? new Date().toISOString() }
}

export default async function userRoutes (app: App, deps: Deps): Promise<void> {
  const s = userSchemas(deps.config)
  const catalogue = deps.recommender.catalogue
  const unknown = (events: EventInput[]) => [...new Set(events.map(e => e.itemId).filter(id => catalogue.indexOf(id) === undefined))]

  app.post('/v1/users/:userId/events', {
    schema: {
      tags: ['users'],
      summary: 'Record interactions (appended to the stored history; repeated eventIds are accepted once)',
      params: s.UserParams,
      body: s.EventsBody,
      response: { 200: s.EventsResponse, ...errorResponses }
    }
  }, async (request) => {
    const body = request.body
    const events = 'events' in body ? body.events : [body]
    const result = await useStore(deps, request.log, async store => await store.append(request.params.userId, events.map(toEvent)))
    return { accepted: result.accepted, duplicates: result.duplicates, historyLength: result.length, unknownItemIds: unknown(events) }
  })

  app.get('/v1/users/:userId/history', {
    schema: { tags: ['users'], summary: 'Read a user\'s stored history', params: s.UserParams, response: { 200: s.HistoryResponse, ...errorResponses } }
  }, async (request) => {
    const { userId } = request.params
    const events = await useStore(deps, request.log, async store => await store.get(userId))
    if (events.length === 0) throw errors.notFound('user', userId)
    return { userId, events }
  })

  app.put('/v1/users/:userId/history', {
    schema: {
      tags: ['users'],
      summary: 'Replace a user\'s stored history',
      params: s.UserParams,
      body: s.HistoryBody,
      response: { 200: s.HistoryResponse, ...errorResponses }
    }
  }, async (request) => {
    const { userId } = request.params
    await useStore(deps, request.log, async store => await store.replace(userId, request.body.events.map(toEvent)))
    return { userId, events: await useStore(deps, request.log, async store => await store.get(userId)) }
  })

  app.delete('/v1/users/:userId/history', {
    schema: { tags: ['users'], summary: 'Forget a user', params: s.UserParams, response: { 204: { type: 'null', description: 'Forgotten' }, ...errorResponses } }
  }, async (request, reply) => {
    const { userId } = request.params
    if (!await useStore(deps, request.log, async store => await store.delete(userId))) throw errors.notFound('user', userId)
    return await reply.code(204).send()
  })
}
