// User histories: a capped, time-limited list of interaction events per user.
export interface HistoryEvent {
  itemId: string
  eventId?: string
  type: string
  timestamp: string // ISO 8601
}

export interface AppendResult { accepted: number, duplicates: number, length: number }

export interface HistoryStore {
  readonly kind: 'redis' | 'memory'
  /** Events, oldest first; [] for an unknown user. */
  get: (userId: string) => Promise<HistoryEvent[]>
  /** Appends atomically; an event whose eventId was seen before for this user is skipped. */
  append: (userId: string, events: HistoryEvent[]) => Promise<AppendResult>
  replace: (userId: string, events: HistoryEvent[]) => Promise<number>
  /** true when there was a history to delete. */
  delete: (userId: string) => Promise<boolean>
  /** Every stored user's events, a user at a time (bounded memory, never blocking the store). */
  scan: () => AsyncGenerator<{ userId: string, events: HistoryEvent[] }>
  ping: () => Promise<void>
  close: () => Promise<void>
}

export interface StoreLimits { maxEvents: number, ttlSeconds: number }

/** Distinct event ids remembered per user for idempotency: well beyond the capped history. */
export const EVENT_IDS_PER_USER = 1000
