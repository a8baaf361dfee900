// Operations under /v1/admin (auth 'admin': a key of ADMIN_API_KEYS): swapping a model without a restart,
// and streaming every recorded event out for retraining.
import { Readable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import { exportEvents } from '../history/export.js'
import { MODEL_NAME, StringEnum, errorResponses, ref } from '../schemas/common.js'
import { modelInfo } from '../schemas/model.js'
import type { App, RouteDeps } from './deps.js'

export default async function adminRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { registry, metrics } = deps
  const config = { auth: 'admin' as const }

  app.post('/admin/models/:name/reload', {
    config,
    schema: {
      tags: ['admin'],
      summary: 'Reload a model from its directory without a restart',
      description: 'Loads the directory again in new workers, checks its parity vectors, then swaps it in: requests in flight finish on the ' +
        'old model. A model that cannot be loaded or does not reproduce its parity vectors is refused (422) and the old one keeps serving. ' +
        'SIGHUP reloads every model the same way.',
      params: Type.Object({ name: Type.String({ ...MODEL_NAME, example: registry.defaultName }) }),
      response: {
        200: Type.Object({
          model: ref(deps.schemas.model.ModelInfo),
          previousVersion: Type.String(),
          parity: Type.Object({ requests: Type.Integer(), worstScoreDifference: Type.Number() })
        }, { description: 'Swapped', examples: [{ model: { ...modelInfo(registry.get().recommender.manifest, registry.defaultName), loadedAt: '2026-01-31T12:00:00.000Z', catalogue: { version: 0, unavailable: 0 } }, previousVersion: '0.1.0', parity: { requests: 64, worstScoreDifference: 0.00001 } }] }),
        ...errorResponses(409, 422, 403)
      }
    }
  }, async (request) => {
    const name = request.params.name
    try {
      const { entry, previous, parity } = await registry.reload(name)
      metrics.modelReloads.inc({ model: name, outcome: 'swapped' })
      request.log.info({ model: name, from: previous.recommender.manifest.version, to: entry.recommender.manifest.version }, 'model reloaded')
      return {
        model: { ...modelInfo(entry.recommender.manifest, entry.name), loadedAt: entry.loadedAt, catalogue: { version: entry.recommender.catalogueVersion, unavailable: entry.recommender.hiddenCount } },
        previousVersion: previous.recommender.manifest.version,
        parity: { requests: parity.requests, worstScoreDifference: parity.worstScoreDifference }
      }
    } catch (error) {
      metrics.modelReloads.inc({ model: name, outcome: 'refused' })
      throw error
    }
  })

  app.get('/admin/events', {
    config,
    schema: {
      tags: ['admin'],
      summary: 'Every recorded event, streamed, in the training pipeline\'s generic interactions format',
      description: 'user_id, item_id, timestamp, event_type, event_id; one line per event, a user at a time (SCAN-based: bounded memory, ' +
        'never blocking Redis). Feed it to training/ with dataset_kind = "generic". A failure of the store mid-stream cuts the response short ' +
        '(no terminating chunk: check your client\'s exit status), and is logged and counted in events_export_failures_total.',
      querystring: Type.Object({
        format: Type.Optional(StringEnum(['jsonl', 'csv'], { default: 'jsonl', description: 'JSON Lines or CSV with a header' }))
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The events',
          content: {
            'application/x-ndjson': { schema: Type.String({ example: '{"user_id":"alice","item_id":"B00150LT40","timestamp":"2026-01-31T12:00:00.000Z","event_type":"view","event_id":"evt-1"}\n' }) },
            'text/csv': { schema: Type.String({ example: 'user_id,item_id,timestamp,event_type,event_id\nalice,B00150LT40,2026-01-31T12:00:00.000Z,view,evt-1\n' }) }
          }
        },
        ...errorResponses(403)
      }
    }
  }, async (request, reply) => {
    const format = request.query.format ?? 'jsonl'
    void reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store')
    const stream = Readable.from(exportEvents(deps.store, format))
    stream.on('error', (error: Error) => { // the status is sent already: the client sees a cut response (curl: exit 18)
      metrics.exportsFailed.inc()
      request.log.error({ err: { message: error.message } }, 'event export failed; the response was cut short')
    })
    return await reply.send(stream as unknown as string) // a stream; the schema documents its text
  })
}
