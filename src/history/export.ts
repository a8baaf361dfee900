// Recorded events in the pipeline's generic interactions format (training/gflowgr/data.py, load_generic):
// one interaction per line, user_id, item_id, timestamp (ISO 8601), event_type and event_id, as JSON Lines
// or CSV (RFC 4180 quoting). Streamed a user at a time from the store's SCAN, so memory stays bounded.
import type { HistoryStore } from './store.js'

export type ExportFormat = 'jsonl' | 'csv'

const COLUMNS = ['user_id', 'item_id', 'timestamp', 'event_type', 'event_id'] as const

function csvField (value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

export async function * exportEvents (store: HistoryStore, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield `${COLUMNS.join(',')}\n`
  for await (const { userId, events } of store.scan()) {
    let chunk = ''
    for (const e of events) {
      const row = [userId, e.itemId, e.timestamp, e.type, e.eventId ?? '']
      chunk += format === 'csv' ? `${row.map(csvField).join(',')}\n` : `${JSON.stringify(Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])))}\n`
    }
    yield chunk
  }
}
