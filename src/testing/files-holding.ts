import fs from 'node:fs';
import path from 'node:path';

/** The files below `dir` (relative paths) whose bytes hold `marker`: what a purge must leave none of. */
export function filesHolding(dir: string, marker: string): string[] {
  const needle = Buffer.from(marker, 'utf8');
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((name) => {
    const file = path.join(dir, name);
    return fs.lstatSync(file).isFile() && fs.readFileSync(file).includes(needle);
  });
}
