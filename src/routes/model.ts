import { Type } from '@sinclair/typebox'
import { MODEL_NAME, errorResponses, ref } from '../schemas/common.js'
import { modelInfo } from '../schemas/model.js'
import type { ModelEntry } from '../model/registry.js'
import type { App, RouteDeps } from './deps.js'

export default async function modelRoutes (app: App, deps: RouteDeps): Promise<void> {
  const { registry } = deps
  const { ModelInfo, ModelList } = deps.schemas.model
  const info = (e: ModelEntry) => ({
    ...modelInfo(e.recommender.manifest, e.name), loadedAt: e.loadedAt, catalogue: { version: e.recommender.catalogueVersion, unavailable: e.recommender.hiddenCount }
  })

  app.get('/model', {
    schema: {
      tags: ['model'],
      summary: 'The default model: manifest summary and evaluation metrics',
      response: { 200: ref(ModelInfo, { description: 'The default model' }), ...errorResponses() }
    }
  }, async () => info(registry.get()))

  app.get('/models', {
    schema: {
      tags: ['model'],
      summary: 'Every served model, the default and the A/B split',
      response: { 200: ref(ModelList, { description: 'The served models' }), ...errorResponses() }
    }
  }, async () => ({ default: registry.defaultName, split: registry.shares, models: registry.all.map(info) }))

  app.get('/models/:name', {
    schema: {
      tags: ['model'],
      summary: 'One served model',
      params: Type.Object({ name: Type.String({ ...MODEL_NAME, example: registry.defaultName }) }),
      response: { 200: ref(ModelInfo, { description: 'The model' }), ...errorResponses() }
    }
  }, async (request) => info(registry.get(request.params.name)))
}
