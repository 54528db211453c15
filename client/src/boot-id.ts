// The kernel's random id of the current boot. Saved before the reboot command runs, compared on
// resume: the same id means the reboot never happened (a reboot command that returned without
// rebooting, a shutdown stopped halfway), and post_update must not run as if it had.
import { readFile } from 'node:fs/promises';
import { ClientError } from './errors.js';

export async function readBootId(file: string): Promise<string> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (id) return id;
  } catch (err) {
    throw new ClientError('local', `cannot read the boot id from ${file}: ${(err as Error).message}`);
  }
  throw new ClientError('local', `the boot id file ${file} is empty`);
}
