// What both benchmarks share: the environment their commands run in.
//
// NODE_EXTRA_CA_CERTS (set on some machines for a TLS proxy) makes every Node process read and parse that
// certificate bundle before it runs a line (30-60 ms on the machine of docs/benchmarks.md): not the CLI's
// cost (it opens no TLS connection) nor one its users pay, so the commands run without it, and each script
// prints what it would have added.
export const extraCerts = process.env.NODE_EXTRA_CA_CERTS;

/** The environment for a measured command: this one, with `changes`, without NODE_EXTRA_CA_CERTS. */
export function commandEnv(changes = {}) {
  const env = { ...process.env, ...changes };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
