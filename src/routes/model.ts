import { Type } from '@sinclair/typebox'
import type { App, Deps } from './deps.js'

export default async function modelRoutes (app: App, deps: Deps): Promise<void> {
  const m = deps.recommender.manifest
  app.get('/v1/model', {
    schema: {
      tags: ['model'],
      summary: 'The served model: manifest summary and evaluation metrics',
      response: {
        200: Type.Object({
          name: Type.String(),
          version: Type.String(),
          formatVersion: Type.Integer(),
          createdAt: Type.String(),
          dataset: Type.Record(Type.String(), Type.Unknown()),
          semanticIds: Type.Object({ levels: Type.Integer(), codebookSizes: Type.Array(Type.Integer()) }),
          items: Type.Integer(),
          maxHistory: Type.Integer(),
          defaultBeamWidth: Type.Integer(),
          metrics: Type.Record(Type.String(), Type.Unknown())
        })
      }
    }
  }, async () => ({
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
  }))
}
