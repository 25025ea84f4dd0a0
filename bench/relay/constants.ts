// What bench:relay's parent and its voxmesh relay child share.

/** The environment variable that carries the REST-API secret to the voxmesh relay child. */
export const SECRET_ENV = 'VOXMESH_RELAY_BENCH_SECRET'
export const REALM = 'bench.voxmesh.test'
