// Round-trip time of a call's media path, measured in band: libdatachannel reports no RTT for a
// session without data channels, and the peer's RTCP receiver reports never reach JavaScript.
// Once per PROBE_INTERVAL_MS a side tags one outgoing Opus packet with a ping (as Opus padding,
// media/audio/opus-padding.ts); the peer tags its next packet with a pong that says how long it
// held the ping; RTT = now − ping sent − held. A lost ping does not hold the next one back (the
// first packets of a call often go out before the peer can decrypt them): pings answered within
// PROBE_TIMEOUT_MS count, whichever came back. Sans-IO: fed packets and times, no timers.
//
// Side data = records, each a type byte then its fields (big-endian):
//   1 ping: id u32          2 pong: id u32, held u16 (tenths of a millisecond)
// Unknown types end the parse; a pong for anything but a ping in flight is ignored.
import { attachSideData, detachSideData } from '../media/audio/opus-padding.js'

export const PROBE_INTERVAL_MS = 1000
/** A ping unanswered this long is given up (so at most PROBE_TIMEOUT_MS / PROBE_INTERVAL_MS are in flight). */
export const PROBE_TIMEOUT_MS = 5000
const PING = 1
const PONG = 2
const MAX_HELD_TENTHS = 0xffff

export interface RttProbe {
  /** The packet to send in place of `packet`: tagged with a pong or a ping when one is due. */
  outgoing: (packet: Uint8Array, now: number) => Uint8Array
  /** The Opus packet without side data; answers pings, takes RTT samples from pongs. */
  incoming: (packet: Uint8Array, now: number) => Uint8Array
  /** The latest RTT sample in ms, or null before the first. */
  rttMs: () => number | null
}

export function createRttProbe (): RttProbe {
  let nextId = 1
  /** Pings sent and not answered yet, oldest first. */
  let inFlight: Array<{ id: number, sentAt: number }> = []
  let nextPingAt = -Infinity
  let pongDue: { id: number, receivedAt: number } | undefined
  let latest: number | null = null

  return {
    outgoing (packet, now) {
      const records: number[] = []
      if (pongDue !== undefined) {
        const held = Math.min(MAX_HELD_TENTHS, Math.max(0, Math.round((now - pongDue.receivedAt) * 10)))
        records.push(PONG, ...u32(pongDue.id), held >> 8, held & 0xff)
      }
      while (inFlight.length > 0 && now - (inFlight[0] as { sentAt: number }).sentAt > PROBE_TIMEOUT_MS) inFlight.shift()
      const pingId = now >= nextPingAt ? nextId : undefined
      if (pingId !== undefined) records.push(PING, ...u32(pingId))
      if (records.length === 0) return packet
      const tagged = attachSideData(packet, Uint8Array.from(records))
      if (tagged === undefined) return packet // not a one-frame packet: try with the next one
      pongDue = undefined
      if (pingId !== undefined) {
        inFlight.push({ id: pingId, sentAt: now })
        nextId = (nextId + 1) >>> 0 || 1
        nextPingAt = now + PROBE_INTERVAL_MS
      }
      return tagged
    },

    incoming (packet, now) {
      const { packet: opus, data } = detachSideData(packet)
      if (data === undefined) return opus
      for (let at = 0; at < data.length;) {
        const type = data[at]
        if (type === PING && at + 5 <= data.length) {
          pongDue = { id: readU32(data, at + 1), receivedAt: now }
          at += 5
        } else if (type === PONG && at + 7 <= data.length) {
          const id = readU32(data, at + 1)
          const held = ((data[at + 5] as number) << 8 | (data[at + 6] as number)) / 10
          const answered = inFlight.findIndex(ping => ping.id === id)
          if (answered >= 0) {
            const rtt = now - (inFlight[answered] as { sentAt: number }).sentAt - held
            if (rtt >= 0) latest = Math.round(rtt * 10) / 10
            // Older pings still unanswered were lost (or overtaken): only newer ones can come back.
            inFlight = inFlight.slice(answered + 1)
          }
          at += 7
        } else {
          break
        }
      }
      return opus
    },

    rttMs: () => latest
  }
}

function u32 (value: number): number[] {
  return [value >>> 24 & 0xff, value >>> 16 & 0xff, value >>> 8 & 0xff, value & 0xff]
}

function readU32 (bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 24 | (bytes[at + 1] as number) << 16 | (bytes[at + 2] as number) << 8 | (bytes[at + 3] as number)) >>> 0
}
