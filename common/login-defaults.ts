// Where a node or a client finds the login server unless told: apart from the
// login client, so a command's definition names it without loading the client.
export const DEFAULT_LOGIN_SERVER_URL = 'http://127.0.0.1:7700'
