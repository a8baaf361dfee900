import { errorResponses, ref } from '../schemas/common.js'
import { modelInfo } from '../schemas/model.js'
import type { App, RouteDeps } from './deps.js'

export default async function modelRoutes (app: App, deps: RouteDeps): Promise<void> {
  const info = modelInfo(deps.recommender.manifest)
  app.get('/model', {
    schema: {
      tags: ['model'],
      summary: 'The served model: manifest summary and evaluation metrics',
      response: { 200: ref(deps.schemas.model.ModelInfo, { description: 'The served model' }), ...errorResponses() }
    }
  }, async () => info)
}
