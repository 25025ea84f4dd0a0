// TurnServerInit: what a supernode may configure, each option checked against its bounds.
import {
  DEFAULT_LIFETIME_SECONDS, DEFAULT_MAX_ALLOCATIONS, DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS, DEFAULT_MAX_ALLOCATIONS_PER_USER,
  DEFAULT_MAX_BYTES_PER_SECOND_PER_ALLOCATION, DEFAULT_MAX_CHANNELS, DEFAULT_MAX_LIFETIME_SECONDS,
  DEFAULT_MAX_PERMISSIONS, DEFAULT_NONCE_LIFETIME_SECONDS, DEFAULT_SOFTWARE, MAX_TEXT_BYTES
} from '../constants.js'
import { TurnError } from '../errors.js'
import { canonicalIp, ipFamily, type IpFamily } from '../ip.js'
import type { TurnSecret } from '../credentials.js'

export interface TurnQuotas {
  /** Allocations one user (the user part of the credential username) may hold at once (default 10); more → 486. */
  maxAllocationsPerUser?: number
  /** Allocations one client IPv4 address or IPv6 /64 may hold at once (default 32); more → 486. */
  maxAllocationsPerAddress?: number
  /** Allocations in total (default 2000); more → 508. */
  maxAllocations?: number
  /** Longest lifetime one Allocate/Refresh grants (default 3600 s). Refreshes extend it for as long as a call lasts. */
  maxLifetimeSeconds?: number
  /** Lifetime granted when the client asks for less or nothing (default 600 s). */
  defaultLifetimeSeconds?: number
  /** Relay rate per allocation and direction, 1 s of burst (default 64 KiB/s); packets over it are dropped and counted. */
  maxBytesPerSecondPerAllocation?: number
  /** Peer IPs with a permission per allocation (default 32); more → 508. */
  maxPermissions?: number
  /** Channel bindings per allocation (default 32); more → 508. */
  maxChannels?: number
}

export interface TurnServerInit {
  /** The REALM of the long-term credentials, e.g. the supernode's name. */
  realm: string
  /** The secret credentials are issued with (see credentials.ts). */
  secret: TurnSecret
  /** The IP the relay sockets bind on and that XOR-RELAYED-ADDRESS carries. Its family is the only relay family served. */
  relayAddress: string
  quotas?: TurnQuotas
  /** How long a NONCE stays valid (default 600 s). */
  nonceLifetimeSeconds?: number
  /** SOFTWARE attribute of responses (default "voxmesh-turn"). */
  software?: string
  /**
   * The lab flag (`--relay-allow-private`): relay to loopback, private, link-local and the other
   * ranges of peer-ranges.ts that a lab puts its peers in. Default false: refused with 403.
   */
  allowPrivatePeers?: boolean
  /**
   * Honour only credentials that name a grant opened with openGrant (and not revoked since).
   * A supernode sets it, so that the credentials of a host die when it leaves. Default false:
   * any credential the secret signs (standard TURN REST API clients).
   */
  requireGrant?: boolean
}

export interface TurnConfig {
  realm: string
  secret: TurnSecret
  relayAddress: string
  relayFamily: IpFamily
  maxAllocationsPerUser: number
  maxAllocationsPerAddress: number
  maxAllocations: number
  maxLifetimeMs: number
  defaultLifetimeMs: number
  maxBytesPerSecond: number
  maxPermissions: number
  maxChannels: number
  nonceLifetimeMs: number
  software: string
  allowPrivatePeers: boolean
  requireGrant: boolean
}

function integerOption (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? fallback
  if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max) {
    throw new TurnError('ERR_INVALID_CONFIG', `${name} must be an integer in ${min}..${max}, got ${String(value)}`)
  }
  return chosen
}

function textOption (name: string, value: string | undefined, fallback?: string): string {
  const chosen = value ?? fallback
  if (typeof chosen !== 'string' || chosen.length === 0 || Buffer.byteLength(chosen) > MAX_TEXT_BYTES || /["\\\x00-\x1f]/.test(chosen)) {
    throw new TurnError('ERR_INVALID_CONFIG', `${name} must be 1..${MAX_TEXT_BYTES} bytes without quotes, backslashes or control characters`)
  }
  return chosen
}

export function configFrom (init: TurnServerInit): TurnConfig {
  const quotas = init.quotas ?? {}
  const relayAddress = canonicalIp(init.relayAddress ?? '')
  if (relayAddress === undefined) throw new TurnError('ERR_INVALID_CONFIG', `relayAddress must be an IP address, got ${JSON.stringify(init.relayAddress)}`)
  if (init.secret === undefined || init.secret.length === 0) throw new TurnError('ERR_INVALID_CONFIG', 'secret must not be empty')
  const maxLifetime = integerOption('quotas.maxLifetimeSeconds', quotas.maxLifetimeSeconds, DEFAULT_MAX_LIFETIME_SECONDS, 60, 24 * 3600)
  const defaultLifetime = integerOption('quotas.defaultLifetimeSeconds', quotas.defaultLifetimeSeconds, Math.min(DEFAULT_LIFETIME_SECONDS, maxLifetime), 60, maxLifetime)
  return {
    realm: textOption('realm', init.realm),
    secret: init.secret,
    relayAddress,
    relayFamily: ipFamily(relayAddress) as IpFamily,
    maxAllocationsPerUser: integerOption('quotas.maxAllocationsPerUser', quotas.maxAllocationsPerUser, DEFAULT_MAX_ALLOCATIONS_PER_USER, 1),
    maxAllocationsPerAddress: integerOption('quotas.maxAllocationsPerAddress', quotas.maxAllocationsPerAddress, DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS, 1),
    maxAllocations: integerOption('quotas.maxAllocations', quotas.maxAllocations, DEFAULT_MAX_ALLOCATIONS, 1),
    maxLifetimeMs: maxLifetime * 1000,
    defaultLifetimeMs: defaultLifetime * 1000,
    maxBytesPerSecond: integerOption('quotas.maxBytesPerSecondPerAllocation', quotas.maxBytesPerSecondPerAllocation, DEFAULT_MAX_BYTES_PER_SECOND_PER_ALLOCATION, 1024),
    maxPermissions: integerOption('quotas.maxPermissions', quotas.maxPermissions, DEFAULT_MAX_PERMISSIONS, 1),
    maxChannels: integerOption('quotas.maxChannels', quotas.maxChannels, DEFAULT_MAX_CHANNELS, 1, 0x4000),
    nonceLifetimeMs: integerOption('nonceLifetimeSeconds', init.nonceLifetimeSeconds, DEFAULT_NONCE_LIFETIME_SECONDS, 10, 24 * 3600) * 1000,
    software: textOption('software', init.software, DEFAULT_SOFTWARE),
    allowPrivatePeers: init.allowPrivatePeers === true,
    requireGrant: init.requireGrant === true
  }
}

/** The lifetime an Allocate or Refresh gets: what it asked for (default when nothing), within the bounds. */
export function grantedLifetimeMs (config: TurnConfig, requestedSeconds: number | undefined): number {
  const requestedMs = requestedSeconds === undefined ? config.defaultLifetimeMs : requestedSeconds * 1000
  return Math.max(config.defaultLifetimeMs, Math.min(requestedMs, config.maxLifetimeMs))
}
