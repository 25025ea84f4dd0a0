// Kept equal to package.json's version (a test checks).
export const VOXMESH_VERSION = '0.1.0'
