// `keyholder doctor`: checks a server's configuration, TLS files, database and clock without
// starting it. Exit 0 when nothing failed (warnings allowed), 2 otherwise.
import type { Command } from 'commander';
import { runDoctor, type Level } from '../ops/doctor.js';
import { configFromFlags, storeOptions, type StoreFlags } from './store-options.js';

const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function registerDoctorCommand(program: Command): void {
  storeOptions(
    program
      .command('doctor')
      .description('check configuration, certificates, database and clock; changes nothing'),
  ).action(async (flags: StoreFlags) => {
    const findings = await runDoctor(configFromFlags(flags));
    for (const f of findings) console.log(`${MARK[f.level]}  ${f.check.padEnd(8)} ${f.message}`);
    const failed = findings.filter((f) => f.level === 'fail').length;
    const warned = findings.filter((f) => f.level === 'warn').length;
    console.log(
      failed ? `${failed} problem(s) to fix` : `no problems${warned ? ` (${warned} warning(s))` : ''}`,
    );
    process.exitCode = failed ? 2 : 0;
  });
}
