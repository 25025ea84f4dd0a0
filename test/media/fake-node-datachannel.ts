// A stand-in for node-datachannel that records every native call, for the media session's
// tests (native-boundary.test.ts): `vi.mock('node-datachannel', ...)` hands out `native.module`,
// and the test reads `native.calls` and `native.peers`. Tracks note the payload type and RTP
// timestamp their handler chain held at each send.

function createFakeNative () {
  const calls: Array<[string, ...unknown[]]> = []
  const peers: FakePeerConnection[] = []
  type Handler = (...args: any[]) => void

  class FakeTrack {
    handlers: Record<string, Handler> = {}
    sent: Buffer[] = []
    timestampsAtSend: number[] = []
    payloadTypesAtSend: number[] = []
    config: { timestamp: number, payloadType: number } | undefined
    closed = false
    setMediaHandler (handler: { config: { timestamp: number, payloadType: number } }): void { this.config = handler.config; calls.push(['track.setMediaHandler']) }
    onOpen (cb: Handler): void { this.handlers.open = cb }
    onClosed (cb: Handler): void { this.handlers.closed = cb }
    onError (cb: Handler): void { this.handlers.error = cb }
    onMessage (cb: Handler): void { this.handlers.message = cb }
    sendMessageBinary (buffer: Buffer): boolean {
      if (!Buffer.isBuffer(buffer)) throw new TypeError('Buffer expected')
      this.sent.push(Buffer.from(buffer))
      this.timestampsAtSend.push(this.config?.timestamp ?? -1)
      this.payloadTypesAtSend.push(this.config?.payloadType ?? -1)
      return true
    }

    close (): void { this.closed = true; calls.push(['track.close']) }
  }

  class FakePeerConnection {
    handlers: Record<string, Handler> = {}
    track: FakeTrack | undefined
    closed = false
    constructor (public name: string, public config: unknown) { peers.push(this); calls.push(['new PeerConnection', config]) }
    onStateChange (cb: Handler): void { this.handlers.state = cb }
    onLocalDescription (cb: Handler): void { this.handlers.description = cb }
    onLocalCandidate (cb: Handler): void { this.handlers.candidate = cb }
    onGatheringStateChange (cb: Handler): void { this.handlers.gathering = cb }
    onIceStateChange (cb: Handler): void { this.handlers.ice = cb }
    addTrack (audio: { mid: string }): FakeTrack { calls.push(['addTrack', audio.mid]); this.track = new FakeTrack(); return this.track }
    setLocalDescription (type: string): void { calls.push(['setLocalDescription', type]) }
    setRemoteDescription (sdp: string, type: string): void { calls.push(['setRemoteDescription', sdp, type]) }
    addRemoteCandidate (candidate: string, mid: string): void { calls.push(['addRemoteCandidate', candidate, mid]) }
    localDescription (): null { return null }
    getSelectedCandidatePair (): unknown {
      return {
        local: { type: 'host', address: '127.0.0.1', port: 1 },
        remote: { type: 'prflx', address: '198.18.5.5', port: 3478 }
      }
    }

    rtt (): number { return -1 }
    close (): void { this.closed = true; calls.push(['pc.close']) }
  }

  class FakeAudio {
    constructor (public mid: string, public direction: string) {}
    addOpusCodec (pt: number): string { calls.push(['addOpusCodec', pt]); return '' }
    addSSRC (ssrc: number): void { calls.push(['addSSRC', ssrc]) }
  }

  class FakeConfig {
    timestamp = 0
    constructor (public ssrc: number, public cname: string, public payloadType: number, public clockRate: number) {
      calls.push(['RtpPacketizationConfig', payloadType, clockRate])
    }
  }

  class FakeHandler {
    chain: FakeHandler[] = []
    constructor (public config?: FakeConfig) {}
    addToChain (handler: FakeHandler): void { this.chain.push(handler); calls.push(['addToChain', handler.constructor.name]) }
  }
  class RtpPacketizer extends FakeHandler {}
  class RtcpSrReporter extends FakeHandler {}
  class RtcpNackResponder extends FakeHandler {}

  return {
    calls,
    peers,
    module: {
      PeerConnection: FakePeerConnection,
      Audio: FakeAudio,
      RtpPacketizationConfig: FakeConfig,
      RtpPacketizer,
      RtcpSrReporter,
      RtcpNackResponder,
      cleanup: () => { calls.push(['cleanup']) }
    }
  }
}

export const native = createFakeNative()
