import type { Command } from '../command.js';
import { compensationList } from './compensation-list.js';
import { compensationPurge } from './compensation-purge.js';
import { compensationReplay } from './compensation-replay.js';
import { compensationRequeueDead } from './compensation-requeue-dead.js';
import { compensationStats } from './compensation-stats.js';
import { produce } from './produce.js';
import { tail } from './tail.js';
import { topicBalance } from './topic-balance.js';
import { topicDescribe } from './topic-describe.js';

/**
 * Every `rsp` command, in the order `rsp --help` lists them. A new command is one file in this
 * directory plus one line here.
 */
export const COMMANDS: readonly Command[] = [produce, tail, topicDescribe, topicBalance, compensationStats, compensationList, compensationReplay, compensationPurge, compensationRequeueDead];
