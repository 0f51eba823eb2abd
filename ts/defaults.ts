// The server's defaults, in one place for the TypeScript side. The CLI's help needs them
// without the native addon, so they are written here; a test holds them to the Rust core's
// (`serverDefaults()`), which applies the same ones.

/** Defaults of `IPyServer` and `indi-node serve`. @internal */
export const DEFAULTS = {
  /** TCP port (indiserver's). */
  port: 7624,
  /** `-d`: MB behind after which a client's queued stream BLOBs are replaced. */
  blobDropMb: 5,
  /** `-m`: MB behind after which a client is disconnected. */
  maxQueueMb: 128,
  /** `-r`: restarts of a dying driver. */
  maxRestarts: 10,
  /** `-u`: indiserver's local socket (a Linux abstract name). */
  unixSocket: '/tmp/indiserver',
  /** `--max-message`: largest element accepted, bytes. */
  maxMessage: 256 * 1024 * 1024,
  /** Clients of an `IPyServer`. */
  maxconnections: 5,
  /**
   * Clients of `indi-node serve`. indiserver has no limit; each client may hold up to `-m` MB
   * queued, so this bounds what non-reading clients can take.
   */
  serveMaxconnections: 100,
} as const;
