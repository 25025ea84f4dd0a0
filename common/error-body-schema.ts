// The schema of the error body every HTTP API of voxmesh answers with (common/error-body.ts),
// apart from it so that clients reading error bodies do not load TypeBox.
import { Type, type Static } from 'typebox'

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() })
})
export type ErrorBody = Static<typeof ErrorBody>
