import { Type } from '@sinclair/typebox'
import type { Config } from '../config.js'
import { ids } from './common.js'

export function userSchemas (config: Config) {
  const { ItemId, UserId } = ids(config.maxIdLength)
  const EventInput = Type.Object({
    itemId: ItemId,
    eventId: Type.Optional(Type.String({ minLength: 1, maxLength: config.maxIdLength, description: 'Idempotency key: a repeated eventId is recorded once' })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Default: interaction', examples: ['view', 'purchase'] })),
    timestamp: Type.Optional(Type.String({ format: 'date-time', description: 'When it happened; default: when received' }))
  }, { additionalProperties: false })
  const Event = Type.Object({
    itemId: Type.String(), eventId: Type.Optional(Type.String()), type: Type.String(), timestamp: Type.String()
  })
  const EventsBody = Type.Union([
    EventInput,
    Type.Object({ events: Type.Array(EventInput, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false })
  ], { description: 'One event, or { events: [...] } in chronological order', examples: [{ itemId: 'B004756YJA', eventId: 'evt-1', type: 'view' }] })
  const HistoryBody = Type.Object({
    events: Type.Array(EventInput, { maxItems: config.maxHistoryItems, description: 'The complete new history, oldest first' })
  }, { additionalProperties: false })
  return {
    UserParams: Type.Object({ userId: UserId }),
    EventsBody,
    HistoryBody,
    EventsResponse: Type.Object({
      accepted: Type.Integer(), duplicates: Type.Integer(), historyLength: Type.Integer(),
      unknownItemIds: Type.Array(Type.String(), { description: 'Stored, but not known to the current model' })
    }),
    HistoryResponse: Type.Object({ userId: Type.String(), events: Type.Array(Event) })
  }
}
