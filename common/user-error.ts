/**
 * An error whose message is the whole story for a person: the CLI prints it in one line, without a stack.
 * `code` names the reason for programs (the control API answers with it); 'refused' when nothing more precise fits.
 */
export class UserError extends Error {
  constructor (message: string, readonly code: string = 'refused') {
    super(message)
  }
}
