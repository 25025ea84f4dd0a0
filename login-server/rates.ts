// What a minute to a phone number costs: a rate table of E.164 prefixes, the longest matching
// prefix wins. Minor units (cents) per started minute. The figures are the stub's own, of the
// order SkypeOut charged; "+" alone is the rest of the world.
export interface Rate { prefix: string, perMinute: number }

export const DEFAULT_RATES: readonly Rate[] = [
  { prefix: '+', perMinute: 20 },
  { prefix: '+1', perMinute: 2 },
  { prefix: '+33', perMinute: 2 },
  { prefix: '+44', perMinute: 2 },
  { prefix: '+447', perMinute: 10 },
  { prefix: '+49', perMinute: 2 },
  { prefix: '+491', perMinute: 12 }
]

/** The rate of the longest prefix of `number` in `rates`; undefined when none matches. */
export function rateFor (number: string, rates: readonly Rate[] = DEFAULT_RATES): Rate | undefined {
  let best: Rate | undefined
  for (const rate of rates) {
    if (number.startsWith(rate.prefix) && (best === undefined || rate.prefix.length > best.prefix.length)) best = rate
  }
  return best
}

/** Per started minute: 0 s costs nothing, 1–60 s one minute, 61 s two. */
export function costOf (billsec: number, rate: Rate): number {
  return Math.ceil(billsec / 60) * rate.perMinute
}
