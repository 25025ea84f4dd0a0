// Phone numbers: E.164, written as "+" and 8 to 15 digits, the first not 0 ("+442079460123").
// The one place that says what a phone number is: the node routes a call whose target looks
// like one to a PSTN gateway, the login server rates it, the gateway dials it.
export const PHONE_NUMBER_PATTERN = /^\+[1-9][0-9]{7,14}$/

/** The PSTN gateway's service account: calls to numbers go to whichever of its devices answers. */
export const PSTN_SERVICE = 'pstn'
/** The echo test line (`voxmesh call echo`, Skype's echo123): the gateway answers it, free. */
export const ECHO_LINE = 'echo'

/** What a valid phone number looks like, in words, for error messages and help. */
export const PHONE_NUMBER_RULE = '"+" and 8 to 15 digits, the country code first (e.g. +442079460123)'

export function isPhoneNumber (text: string): boolean {
  return PHONE_NUMBER_PATTERN.test(text)
}

/** A call target that means to be a phone number ("+" first), as against a username. */
export function looksLikePhoneNumber (text: string): boolean {
  return text.startsWith('+')
}

/** The one sentence for a target that starts like a phone number and is not one (quoted as JSON: no escapes reach a terminal). */
export function invalidPhoneNumberMessage (input: string): string {
  return `${JSON.stringify(input.slice(0, 40))} is not a valid phone number: phone numbers are ${PHONE_NUMBER_RULE}`
}
