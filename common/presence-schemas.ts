// The schemas of the presence statuses in common/presence.ts (for the APIs and signed bodies).
import { Type } from 'typebox'
import { OneOf } from './schemas.js'
import { PRESENCE_STATUSES, SETTABLE_STATUSES } from './presence.js'

export const PresenceStatusSchema = OneOf(PRESENCE_STATUSES)
export const SettableStatusSchema = OneOf(SETTABLE_STATUSES)
export const UserStatusSchema = Type.Union([...PresenceStatusSchema.anyOf, Type.Literal('invisible')])
