/** Keeping passwords out of what the producer prints or reports. */

/**
 * Hides credentials in text that may hold a Redis URL: `redis://user:password@host` →
 * `redis://user:***@host` (also without a scheme: `user:password@host`), and a lone userinfo after a
 * scheme (`redis://secret@host`, which some clients read as a password) → `redis://***@host`.
 * Error messages pass through it, so a mistyped URL never prints its password.
 */
export function redactCredentials(text: string): string {
  return text.replace(/((?:\b[a-z][a-z0-9+.-]*:\/\/)?[^\s:/@"'`]*):(?!\/\/)[^\s"'`]+@/gi, '$1:***@').replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s:/"'`]+@/gi, '$1***@');
}

/**
 * ioredis attaches a failed command to its error: for the handshake that is `AUTH [user] password`
 * or `HELLO 3 AUTH user password`. Masks the password in place, before anyone can log the error.
 */
export function hideCredentials(err: unknown): void {
  const command = (err as { command?: { name?: unknown; args?: unknown[] } } | null)?.command;
  if (!command || !Array.isArray(command.args)) return;
  const name = String(command.name).toLowerCase();
  const args = command.args;
  if (name === 'auth') command.args = args.map((a, i) => (i === args.length - 1 ? '***' : a));
  if (name === 'hello') {
    const at = args.findIndex((a) => String(a).toUpperCase() === 'AUTH');
    if (at >= 0) command.args = args.map((a, i) => (i === at + 2 ? '***' : a));
  }
}
