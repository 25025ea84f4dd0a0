// The floor of holding hosts on Node: a bare WebSocket server (the `ws` package, as the
// supernode's transport uses it) that keeps its connections and answers every frame of
// PING_FRAME_BYTES or more with a PONG_FRAME_BYTES frame, nothing else: no crypto, no JSON, no
// state per connection. ws-floor.ts reads its RSS per connection and its CPU per keepalive
// frame. It prints its port on stdout.
import { WebSocketServer } from 'ws'
import { PING_FRAME_BYTES, PONG_FRAME_BYTES } from './constants.js'

const pong = Buffer.alloc(PONG_FRAME_BYTES)
// The link's frame bound (MAX_FRAME_BYTES), as the supernode's transport sets it.
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024, perMessageDeflate: false })
server.on('connection', socket => {
  socket.on('message', (data: Buffer) => { if (data.length >= PING_FRAME_BYTES) socket.send(pong) })
})
server.on('listening', () => { process.stdout.write(`${(server.address() as { port: number }).port}\n`) })
process.once('SIGTERM', () => { server.close(() => process.exit(0)) })
