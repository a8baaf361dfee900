import { Type, type Static } from '@sinclair/typebox'

export const ErrorResponse = Type.Object({
  code: Type.String({ examples: ['validation_error'] }),
  message: Type.String(),
  requestId: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { $id: 'Error', description: 'Every failure has this shape' })

export type ErrorBody = Static<typeof ErrorResponse>

export const errorResponses = {
  400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse
}

export function ids (maxIdLength: number) {
  const Id = Type.String({ minLength: 1, maxLength: maxIdLength, pattern: '^[^\\s]+$' })
  return {
    ItemId: Type.String({ ...Id, description: 'External item id (e.g. an ASIN or a MovieLens id)', examples: ['B004756YJA'] } as object),
    UserId: Type.String({ ...Id, description: 'Your user id; hashed to a user token by the model', examples: ['user-42'] } as object)
  }
}

export const CatalogueItem = Type.Object({
  itemId: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  brand: Type.Union([Type.String(), Type.Null()]),
  categories: Type.Array(Type.String()),
  semanticId: Type.Array(Type.Integer(), { description: 'The item\'s codes, one per level' })
})
