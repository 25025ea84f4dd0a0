// What a call is placed to: a user, a phone number (E.164, through the PSTN gateway, the
// service `pstn`), or `echo`, the gateway's echo test line. A number is checked here, before
// anything is sent: a malformed one never reaches the gateway.
import { ECHO_LINE, invalidPhoneNumberMessage, isPhoneNumber, looksLikePhoneNumber, PSTN_SERVICE } from '../../common/phone-numbers.js'
import { invalidUsernameMessage, normalizeUsername } from '../../common/usernames.js'
import { callError } from './errors.js'

export { PSTN_SERVICE }

export interface CallTarget {
  /** Who the invite goes to. */
  peer: string
  /** For the gateway: the number dialed, or the echo line. */
  number?: string
}

/** Spaces, dashes, dots and brackets people write numbers with: "+44 (20) 7946-0123". */
const NUMBER_PUNCTUATION = /[\s().-]/g

export function callTargetOf (input: string): CallTarget {
  if (input.toLowerCase() === ECHO_LINE) return { peer: PSTN_SERVICE, number: ECHO_LINE }
  if (looksLikePhoneNumber(input.trim())) {
    const number = input.replace(NUMBER_PUNCTUATION, '')
    if (!isPhoneNumber(number)) throw callError('invalid_number', invalidPhoneNumberMessage(input))
    return { peer: PSTN_SERVICE, number }
  }
  const peer = normalizeUsername(input)
  if (peer === undefined) throw callError('invalid_username', invalidUsernameMessage(input))
  return { peer }
}
