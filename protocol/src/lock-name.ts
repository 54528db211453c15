// The lock-name rule. The server refuses a name with these problems (422, per field), and the
// client checks the same rule before it sends anything, so a typo in a unit file fails at once.

export const MAX_LOCK_NAME_LENGTH = 255;

/** Pure: what is wrong with this lock name, in Rails' message style; empty when it is fine. */
export function lockNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.trim() === '') problems.push("can't be blank");
  if (name.length > MAX_LOCK_NAME_LENGTH) {
    problems.push(`is too long (maximum is ${MAX_LOCK_NAME_LENGTH} characters)`);
  }
  // "/" would change the URL path /api/dlmlocks/NAME/lock
  if (name.includes('/')) problems.push('must not contain /');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) problems.push('must not contain control characters');
  return problems;
}
