// Durations typed by people: "90", "90s", "10m", "12h", "2d".
const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }

export function parseDurationSeconds (text: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim())
  if (match === null) return undefined
  return Number(match[1]) * (UNITS[match[2] as string] as number)
}
