// An account's role, from least to most allowed: decided in src/identity/access.ts, stored with
// the user (src/store/accounts.ts), given by the command line and the users API.
export type Role = 'viewer' | 'operator' | 'admin';
