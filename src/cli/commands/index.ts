import type { Command } from '../command.js';
import { exportSessionCommand } from './export-session.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { migrateCommand } from './migrate.js';
import { migrateRollbackCommand } from './migrate-rollback.js';
import { migrateVerifyCommand } from './migrate-verify.js';
import { projectionsCompare, projectionsRebuild, projectionsStatus } from './projections.js';

/** Every ffcdb command; a new command is a module in this folder and a line here. */
export const COMMANDS: readonly Command[] = [projectionsStatus, projectionsCompare, projectionsRebuild, exportSessionCommand, exportCommand, importCommand, migrateVerifyCommand, migrateRollbackCommand, migrateCommand];
