/**
 * Plain-text rendering of a spread and a balance plan, for the `rsp topic balance` command and the
 * cluster benchmark.
 */
import type { BalanceResult } from './balance.js';
import type { SlotMove, Spread } from './placement.js';

const ratioText = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '∞ (a master holds no shard)');

/** One line: shards (and expected share of records) per master, then max/min. */
export function describeSpread(spread: Spread, addresses: Record<string, string> = {}): string {
  const parts = spread.masters.map((m) => `${addresses[m.master] ?? m.master} ${m.shards.length} (${(m.recordShare * 100).toFixed(1)} %)`);
  return `${parts.join(', ')}; max/min ${ratioText(spread.ratio)} (best possible ${ratioText(spread.bestRatio)})`;
}

/** One line per slot move. */
export function describeMove(move: SlotMove, addresses: Record<string, string> = {}): string {
  return `slot ${move.slot} (shard${move.shards.length > 1 ? 's' : ''} ${move.shards.join(', ')}): ${addresses[move.from] ?? move.from} → ${addresses[move.to] ?? move.to}`;
}

/** The whole result: before, the moves, and the planned or measured spread after. */
export function describeBalance(result: BalanceResult): string {
  const { addresses } = result;
  const lines = [`topic "${result.topic}" of namespace "${result.namespace}", ${result.shards} shards`, `before: ${describeSpread(result.before, addresses)}`];
  if (result.moves.length === 0) {
    lines.push(result.before.balanced ? 'balanced already: nothing to move' : 'no whole-slot move improves the spread (shards share slots): nothing to move');
    return lines.join('\n');
  }
  lines.push(`${result.executed ? 'moved' : 'plan'}: ${result.moves.length} slot${result.moves.length > 1 ? 's' : ''}`);
  for (const move of result.moves) lines.push(`  ${describeMove(move, addresses)}`);
  if (result.after) lines.push(`after: ${describeSpread(result.after, addresses)} (${result.keysMoved} keys moved)`);
  else lines.push(`planned: ${describeSpread(result.planned, addresses)}`, 'nothing moved: apply with `execute: true` (rsp: --execute); whole slots move, other keys in them too');
  return lines.join('\n');
}
