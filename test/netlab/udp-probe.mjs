// A tiny UDP prober for the lab's NAT self-check, run inside a namespace with `ip netns exec NS node`
// (plain JavaScript, so it runs without a build). Prints one JSON object per line on stdout.
//
//   reflect IP PORT              answers each datagram with the address it came from (as STUN would)
//   client PORT TARGET...        from one socket bound to PORT, asks each TARGET (IP:PORT, a reflector)
//                                what it saw: prints {"event":"mapped","mappings":{TARGET:"IP:PORT"|null}},
//                                then {"event":"unsolicited","from":"IP:PORT"} for any other datagram,
//                                until stdin closes
//   send PORT DEST               sends three datagrams from PORT to DEST (IP:PORT), then exits
//   keep PORT TARGET MS          asks TARGET (a reflector) every 250 ms for MS ms from PORT, so the NAT
//                                sees a two-way stream; prints {"event":"kept","replies":N}, then exits
import { createSocket } from 'node:dgram'

const MAX_RUN_MS = 60_000
const ASK_TRIES = 3
const ASK_GAP_MS = 200

const [mode, ...args] = process.argv.slice(2)
const print = object => { process.stdout.write(JSON.stringify(object) + '\n') }
const split = address => {
  const at = address.lastIndexOf(':')
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
}
// Never outlives its test.
setTimeout(() => process.exit(0), MAX_RUN_MS).unref()

const socket = createSocket('udp4')
socket.on('error', err => { print({ event: 'error', message: err.message }); process.exit(1) })

if (mode === 'reflect') {
  const [ip, port] = args
  socket.on('message', (_msg, from) => { socket.send(`${from.address}:${from.port}`, from.port, from.address) })
  socket.bind(Number(port), ip, () => { print({ event: 'listening' }) })
} else if (mode === 'client') {
  const [port, ...targets] = args
  const mappings = Object.fromEntries(targets.map(t => [t, null]))
  socket.on('message', (msg, from) => {
    const source = `${from.address}:${from.port}`
    if (source in mappings) mappings[source] ??= msg.toString()
    else print({ event: 'unsolicited', from: source })
  })
  socket.bind(Number(port), async () => {
    for (let i = 0; i < ASK_TRIES; i++) {
      for (const target of targets) {
        const { host, port: targetPort } = split(target)
        if (mappings[target] === null) socket.send('probe', targetPort, host)
      }
      await new Promise(resolve => setTimeout(resolve, ASK_GAP_MS))
    }
    print({ event: 'mapped', mappings })
  })
  process.stdin.on('end', () => process.exit(0)).resume()
} else if (mode === 'send') {
  const [port, dest] = args
  const { host, port: destPort } = split(dest)
  socket.bind(Number(port), async () => {
    for (let i = 0; i < 3; i++) {
      socket.send('hello', destPort, host)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    print({ event: 'sent' })
    socket.close()
  })
} else if (mode === 'keep') {
  const [port, target, ms] = args
  const { host, port: targetPort } = split(target)
  let replies = 0
  socket.on('message', () => { replies++ })
  socket.bind(Number(port), () => {
    const timer = setInterval(() => socket.send('probe', targetPort, host), 250)
    setTimeout(() => { clearInterval(timer); print({ event: 'kept', replies }); socket.close() }, Number(ms))
  })
} else {
  process.stderr.write('usage: udp-probe.mjs reflect IP PORT | client PORT TARGET... | send PORT DEST | keep PORT TARGET MS\n')
  process.exit(2)
}
