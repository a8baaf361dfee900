import { Type } from '@sinclair/typebox'
import type { Manifest } from '../model/manifest.js'

/** What GET /v1/models/{name} answers for a manifest (served as `name`). */
export function modelInfo (m: Manifest, name = m.name) {
  return {
    name,
    version: m.version,
    formatVersion: m.formatVersion,
    createdAt: m.createdAt,
    dataset: m.dataset,
    semanticIds: m.semanticIds,
    items: m.catalogue.items,
    maxHistory: m.maxHistory,
    defaultBeamWidth: m.decoding.defaultBeamWidth,
    metrics: m.metrics ?? {}
  }
}

export function modelSchemas (m: Manifest) {
  const ModelInfo = Type.Object({
      name: Type.String({ description: 'The name it is served under (MODELS), else the manifest\'s' }),
      version: Type.String(),
      formatVersion: Type.Integer(),
      createdAt: Type.String(),
      dataset: Type.Record(Type.String(), Type.Unknown()),
      semanticIds: Type.Object({ levels: Type.Integer(), codebookSizes: Type.Array(Type.Integer()) }),
      items: Type.Integer(),
      maxHistory: Type.Integer({ description: 'History items the model reads (the most recent)' }),
      defaultBeamWidth: Type.Integer(),
      metrics: Type.Record(Type.String(), Type.Unknown(), { description: 'Evaluation metrics from the export' }),
      loadedAt: Type.String({ format: 'date-time', description: 'When this version was loaded (start-up or reload)' }),
      catalogue: Type.Object({
        version: Type.Integer({ description: 'Version of the shared catalogue state applied (hidden items)' }),
        unavailable: Type.Integer({ description: 'Items of this catalogue hidden from recommendations' })
      })
    }, { $id: 'ModelInfo', title: 'ModelInfo', examples: [{ ...modelInfo(m), metrics: {}, loadedAt: '2026-01-31T12:00:00.000Z', catalogue: { version: 0, unavailable: 0 } }] })
  const ModelList = Type.Object({
    default: Type.String({ description: 'The model of requests that name none and fall in no share of the split' }),
    split: Type.Array(Type.Object({ name: Type.String(), weight: Type.Integer() }), { description: 'MODEL_SPLIT: shares of users per model (A/B)' }),
    models: Type.Array(Type.Unsafe(Type.Ref('ModelInfo')))
  }, { $id: 'ModelList', title: 'ModelList', examples: [{ default: m.name, split: [], models: [{ ...modelInfo(m), metrics: {}, loadedAt: '2026-01-31T12:00:00.000Z', catalogue: { version: 0, unavailable: 0 } }] }] })
  return { ModelInfo, ModelList }
}
