// Money as voxmesh keeps it: whole minor units (cents) of one currency, shown as people read it.
export const CURRENCY = 'EUR'

/** 1234 → "12.34 EUR". */
export function formatMoney (minor: number, currency: string = CURRENCY): string {
  return `${(minor / 100).toFixed(2)} ${currency}`
}
