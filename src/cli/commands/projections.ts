import { type Command, EXIT, UsageError } from '../command.js';
import { DIR_OPTION, withStore } from './store-dir.js';

export const projectionsStatus: Command = {
  name: 'projections status',
  usage: 'ffcdb projections status  --dir DIR             the position each projection reflects',
  options: DIR_OPTION,
  run: (values) =>
    withStore(values.dir, async (chat) => {
      for (const name of chat.projections.names) console.log(`${name}: position ${chat.projections.position}`);
      return EXIT.ok;
    }, { readOnly: true }),
};

export const projectionsCompare: Command = {
  name: 'projections compare',
  usage: 'ffcdb projections compare --dir DIR [NAME...]   rebuild beside the live state and compare (exit 1 if any differs)',
  options: DIR_OPTION,
  run: (values, names) => rebuildEach(values.dir, names, false),
};

export const projectionsRebuild: Command = {
  name: 'projections rebuild',
  usage: 'ffcdb projections rebuild --dir DIR NAME...     rebuild from the log and swap in',
  options: DIR_OPTION,
  run: (values, names) => {
    if (names.length === 0) throw new UsageError('name the projections to rebuild');
    return rebuildEach(values.dir, names, true);
  },
};

function rebuildEach(dir: unknown, names: string[], swap: boolean): Promise<number> {
  return withStore(dir, async (chat) => {
    let differ = false;
    for (const name of names.length > 0 ? names : chat.projections.names) {
      const r = swap ? await chat.projections.rebuild(name) : await chat.projections.compare(name);
      differ ||= !r.identical;
      console.log(`${name} v${r.version} at position ${r.position}: ${r.identical ? 'identical' : 'DIFFERENT'}${r.swapped ? ', rebuilt state swapped in' : ''}`);
      for (const d of r.differences) console.log(`  ${d}`);
    }
    return !swap && differ ? EXIT.problem : EXIT.ok;
    // A comparison only reads; a rebuild saves the swapped-in state with the snapshots on close.
  }, { readOnly: !swap });
}
