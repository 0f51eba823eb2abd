/** The frame the "Camera" device of the uploads test driver sends. */
export function frameBytes(): Buffer;
/** `length:sha256` of `data`, as the uploads test driver reports it. */
export function digest(data: Buffer): string;
