/**
 * `redis-stream-producer/admin`: operating a topic's placement on Redis Cluster. Kept apart from
 * the producer's entry point, which applications import; this one is for operators and tools.
 */
export { balanceTopic, type BalanceProgress, type BalanceResult, type BalanceTopicOptions } from './balance.js';
export { ClusterNodes, nodeAddress, parseClusterNodes, stableTopology, type ClusterNodeInfo, type ClusterNodesOptions } from './cluster-nodes.js';
export { AdminOptionsError, ClusterStateError, SlotMigrationError, type MigrationPhase } from './errors.js';
export { CLUSTER_SLOTS, keySlot } from './key-slot.js';
export { migrateSlot, type MigrateSlotOptions, type MigrationStep, type SlotTransfer } from './migrate-slot.js';
export { afterMoves, fewestMoves, planBalance, topicSpread, type MasterLoad, type PlacementPlan, type SlotMove, type SlotOwners, type Spread } from './placement.js';
export { describeBalance, describeMove, describeSpread } from './report.js';
