// The floor of a relayed packet's cost on Node: a bare UDP echo, one receive and one send per
// datagram, with the relay's own send settings (no completion callback, no DNS step). bench:relay
// puts it behind coturn in place of turnutils_peer and reads its CPU per echoed datagram. It
// prints its port on stdout.
import { createSocket } from 'node:dgram'

const socket = createSocket({ type: 'udp4', lookup: (address, _family, callback) => { callback(null, address, 4) } })
socket.on('message', (bytes, from) => { socket.send(bytes, from.port, from.address) })
socket.bind(0, '127.0.0.1', () => { process.stdout.write(`${socket.address().port}\n`) })
process.once('SIGTERM', () => { socket.close(() => process.exit(0)) })
