/** `+14155550123` -> `+1******0123`: country code and last four digits stay readable. */
export function maskPhone(e164: string, countryCallingCode: string): string {
  const national = e164.slice(1 + countryCallingCode.length);
  const visible = national.slice(-4);
  return `+${countryCallingCode}${"*".repeat(Math.max(national.length - visible.length, 0))}${visible}`;
}

/** `alice@example.com` -> `a***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}
