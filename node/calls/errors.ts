// Why the node refuses a call command. The code crosses layers (the control API
// answers with it, a client can act on it); the message is for a person.
import { UserError } from '../../common/user-error.js'

export const CALL_ERRORS = {
  no_call: 'there is no call to act on',
  no_such_call: 'no such call',
  self_call: 'you cannot call yourself',
  in_call: 'already in a call; hang up first',
  invalid_username: 'not a valid username',
  invalid_number: 'not a valid phone number',
  no_gateway: 'no PSTN gateway serves this network: phone numbers cannot be called',
  not_connected: 'not connected to the network yet (no supernode); try again shortly',
  not_a_contact: 'only contacts can be called',
  no_such_file: 'no such file',
  not_a_wav: 'not a WAV file',
  no_such_folder: 'no such folder',
  file_exists: 'the file exists',
  file_access: 'the file cannot be used',
  not_expected: 'the node expected nothing of this kind for the call'
} as const

export type CallErrorCode = keyof typeof CALL_ERRORS

/** A refused call command: a UserError whose `code` names the reason; `message` words it for this case. */
export function callError (code: CallErrorCode, message: string = CALL_ERRORS[code]): UserError {
  return new UserError(message, code)
}
