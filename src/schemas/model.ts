import { Type } from '@sinclair/typebox'
import type { Manifest } from '../model/manifest.js'

/** What GET /v1/model answers for a manifest. */
export function modelInfo (m: Manifest) {
  return {
    name: m.name,
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
  return {
    ModelInfo: Type.Object({
      name: Type.String(),
      version: Type.String(),
      formatVersion: Type.Integer(),
      createdAt: Type.String(),
      dataset: Type.Record(Type.String(), Type.Unknown()),
      semanticIds: Type.Object({ levels: Type.Integer(), codebookSizes: Type.Array(Type.Integer()) }),
      items: Type.Integer(),
      maxHistory: Type.Integer({ description: 'History items the model reads (the most recent)' }),
      defaultBeamWidth: Type.Integer(),
      metrics: Type.Record(Type.String(), Type.Unknown(), { description: 'Evaluation metrics from the export' })
    }, { $id: 'ModelInfo', title: 'ModelInfo', examples: [{ ...modelInfo(m), metrics: {} }] })
  }
}
