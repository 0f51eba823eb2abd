/** The BLOB the all-types test driver sends. */
export function blobBytes(): Buffer;
