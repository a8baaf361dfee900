import { Type } from '@sinclair/typebox'
import type { Config } from '../config.js'
import { ID_PATTERN, TEXT_PATTERN, ids, ref } from './common.js'
import type { Examples } from './recommendations.js'

export function userSchemas (config: Config, ex: Examples) {
  const { ItemId, UserId } = ids(config.maxIdLength, ex.history[0])
  const eventId = Type.String({
    minLength: 1,
    maxLength: config.maxIdLength,
    ...ID_PATTERN,
    description: 'Idempotency key: an event whose eventId this user already has is recorded once. The service makes one when absent',
    example: 'evt-1'
  })
  const EventInput = Type.Object({
    itemId: ItemId,
    eventId: Type.Optional(eventId),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 32, ...TEXT_PATTERN, description: 'Default: interaction', example: 'view' })),
    timestamp: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'When it happened (RFC 3339); default: when received', example: '2026-01-31T12:00:00Z' }))
  }, { $id: 'EventInput', title: 'EventInput', additionalProperties: false, description: 'An interaction to record' })
  const Event = Type.Object({
    itemId: Type.String(),
    eventId: Type.Optional(Type.String({ description: 'Absent on events stored before the service generated ids' })),
    type: Type.String(),
    timestamp: Type.String({ format: 'date-time' })
  }, { $id: 'Event', title: 'Event', description: 'A stored interaction' })
  const EventBatch = Type.Object({
    events: Type.Array(ref(EventInput), { minItems: 1, maxItems: 100, description: 'In chronological order' })
  }, { additionalProperties: false })
  const EventsRequest = Type.Union([ref(EventInput), EventBatch], {
    $id: 'EventsRequest',
    title: 'EventsRequest',
    description: 'One event, or { events: [...] } in chronological order',
    examples: [
      { itemId: ex.history[0], eventId: 'evt-1', type: 'view' },
      { events: [{ itemId: ex.history[1], eventId: 'evt-2' }, { itemId: ex.history[2], type: 'purchase', timestamp: '2026-01-31T12:00:00Z' }] }
    ]
  })
  const HistoryRequest = Type.Object({
    events: Type.Array(ref(EventInput), { maxItems: config.maxHistoryItems, description: 'The complete new history, oldest first; [] forgets the user' })
  }, {
    $id: 'HistoryRequest',
    title: 'HistoryRequest',
    additionalProperties: false,
    examples: [{ events: ex.history.map((itemId, i) => ({ itemId, eventId: `evt-${i + 1}`, timestamp: `2026-01-0${i + 1}T12:00:00Z` })) }]
  })
  const exampleEvents = ex.history.map((itemId, i) => ({ itemId, eventId: `evt-${i + 1}`, type: 'interaction', timestamp: `2026-01-0${i + 1}T12:00:00.000Z` }))
  return {
    UserParams: Type.Object({ userId: UserId }),
    EventInput,
    Event,
    EventsRequest,
    HistoryRequest,
    EventsResponse: Type.Object({
      accepted: Type.Integer({ description: 'Events stored' }),
      duplicates: Type.Integer({ description: 'Events whose eventId was already stored; not stored again' }),
      historyLength: Type.Integer({ description: 'Events stored for the user now (capped at HISTORY_MAX_EVENTS)' }),
      eventIds: Type.Array(Type.String(), { description: 'The eventId of each event, in the order sent (made by the service where absent): retry with these' }),
      unknownItemIds: Type.Array(Type.String(), { description: 'Stored, but not known to the current model' })
    }, {
      $id: 'EventsResult',
      title: 'EventsResult',
      examples: [{ accepted: 1, duplicates: 0, historyLength: 1, eventIds: ['evt-1'], unknownItemIds: [] }]
    }),
    History: Type.Object({ userId: Type.String(), events: Type.Array(ref(Event)) }, {
      $id: 'History',
      title: 'History',
      examples: [{ userId: 'user-42', events: exampleEvents }]
    })
  }
}
