// A MOS estimate from what a call can measure, by the ITU-T G.107 E-model
// (simplified, as VoIP monitors do): delay impairment Id from the one-way
// mouth-to-ear delay, equipment impairment Ie_eff from packet loss.

/** Opus at ~24 kbit/s in voice mode: little codec impairment, and FEC makes it robust to random loss. */
const OPUS_IE = 0
const OPUS_BPL = 20

export function estimateMos (input: { oneWayDelayMs: number, lossPct: number }): number {
  const d = Math.max(0, input.oneWayDelayMs)
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0)
  const ppl = Math.min(100, Math.max(0, input.lossPct))
  const ieEff = OPUS_IE + (95 - OPUS_IE) * ppl / (ppl + OPUS_BPL)
  const r = Math.max(0, Math.min(100, 93.2 - id - ieEff))
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
  return Math.round(Math.min(4.5, Math.max(1, mos)) * 100) / 100
}
