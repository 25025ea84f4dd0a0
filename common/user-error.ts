/** An error whose message is the whole story for a person: the CLI prints it in one line, without a stack. */
export class UserError extends Error {}
