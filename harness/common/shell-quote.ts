/**
 * Quoting for the *guest* shell. Host tools are always spawned with argument
 * arrays; only commands sent over SSH to the guest are shell strings, and every
 * value that came from a scenario goes through here.
 */
export function quote(arg: string | number): string {
  const s = String(arg);
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function command(...args: (string | number)[]): string {
  return args.map(quote).join(' ');
}
