import { Type } from '@sinclair/typebox'

export function healthSchemas () {
  return {
    Health: Type.Object({
      status: Type.String({ description: 'ok (liveness) or ready (readiness)' }),
      checks: Type.Optional(Type.Record(Type.String(), Type.String()))
    }, { $id: 'Health', title: 'Health', examples: [{ status: 'ready', checks: { model: 'beauty-gflowgr@0.3.0', workers: '2/2', historyStore: 'memory: ok' } }] })
  }
}
