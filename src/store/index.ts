export { atomicWriteFile, atomicRemoveFile, fsyncDirectory, fileExists, processAlive, TEMP_PREFIX, type WriteOptions } from './atomic.js';
export { resolveOwner, userAccess, canRead, type Ownership, type UserAccess } from './owner.js';
export { acquireLock, withLock, lockFileName, type Lock, type LockOptions } from './lock.js';
export { readState, writeState, stateFilePath } from './state.js';
export { installRelease, currentRelease, type ReleaseFile, type ReleaseOptions } from './release.js';
