/**
 * A round's workload: many loops each awaiting one send() at a time, plus one loop of produce()
 * bursts, all with unique values, and a record of what every send returned and when. Keys and
 * sequence numbers are shared by both, so per-key order can be checked across them.
 */
import { BufferFullError, type DeadLetterEvent, type Producer, type ProducerError, type ProducerRecord, type ReplayEvent, type SendAck, type SpillEvent } from '../src/index.js';
import { Rng, type Schedule } from './schedule.js';
import { sleep } from './servers.js';

export interface Sent {
  /** Unique: `r<round>-l<loop>-i<i>-s<keySeq>` (loop `p`: produce()). */
  value: string;
  via: 'send' | 'produce';
  key: string | undefined;
  headers: Record<string, string> | undefined;
  /** Order of the calls: per key (0 for keyless records) and over the whole round. */
  keySeq: number;
  seq: number;
  /** ms since the workload started. */
  start: number;
  settle: number | undefined;
  ack: SendAck | undefined;
  error: Error | undefined;
}

/** What the producer reported through events, with times. */
export class Observed {
  readonly spills: (SpillEvent & { at: number })[] = [];
  readonly replays: (ReplayEvent & { at: number })[] = [];
  readonly deadLetters: (DeadLetterEvent & { at: number })[] = [];
  readonly errors: { at: number; error: ProducerError }[] = [];
  /** `<stream> <id>` of every entry a `delivery` event reported (replays included). */
  readonly delivered = new Set<string>();

  constructor(producer: Producer, now: () => number) {
    producer.on('spill', (e) => this.spills.push({ ...e, at: now() }));
    producer.on('replay', (e) => this.replays.push({ ...e, at: now() }));
    producer.on('dead-letter', (e) => this.deadLetters.push({ ...e, at: now() }));
    producer.on('error', (error) => this.errors.push({ at: now(), error }));
    producer.on('delivery', (e) => {
      for (const id of e.ids) this.delivered.add(`${e.stream} ${id}`);
    });
  }
}

const HEADER_NAMES = ['trace', 'src', 'try', 'x-id'];

export class Workload {
  readonly sent: Sent[] = [];
  /** produce() calls refused with BufferFullError (never accepted). */
  producedRefused = 0;
  /** Anything else produce() threw. */
  readonly produceErrors: Error[] = [];
  private stopping = false;
  private stopped!: Promise<void>;
  private stopNow!: () => void;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private readonly keySeqs = new Map<string, number>();

  constructor(
    private readonly producer: Producer,
    private readonly schedule: Schedule,
    readonly topic: string,
    readonly now: () => number,
  ) {}

  start(): void {
    this.stopped = new Promise((resolve) => (this.stopNow = resolve));
    const { seed, round, target, loops } = this.schedule;
    this.loops = Array.from({ length: loops }, (_, l) => this.sendLoop(new Rng(seed, round, target, 'loop', l), `l${l}`));
    this.loops.push(this.produceLoop(new Rng(seed, round, target, 'produce')));
  }

  /** Stops the loops; resolves when they end or after `waitMs` (sends that never settle keep their loop). */
  async stop(waitMs: number): Promise<void> {
    this.stopping = true;
    this.stopNow();
    await Promise.race([Promise.all(this.loops), sleep(waitMs)]);
  }

  private next(rng: Rng, loop: string, i: number, via: Sent['via']): { record: ProducerRecord; sent: Sent } {
    const { keys, keylessRatio, round } = this.schedule;
    const key = rng.chance(keylessRatio) ? undefined : `k${rng.int(0, keys - 1)}`;
    const headerCount = rng.int(0, 3);
    const headers = headerCount === 0 ? undefined : Object.fromEntries(HEADER_NAMES.slice(0, headerCount).map((h) => [h, `${h}-${rng.int(0, 999)}`]));
    let keySeq = 0;
    if (key !== undefined) {
      keySeq = (this.keySeqs.get(key) ?? 0) + 1;
      this.keySeqs.set(key, keySeq);
    }
    const value = `r${round}-${loop}-i${i}-s${keySeq}`;
    const sent: Sent = { value, via, key, headers, keySeq, seq: ++this.seq, start: this.now(), settle: undefined, ack: undefined, error: undefined };
    const record: ProducerRecord = { topic: this.topic, value };
    if (key !== undefined) record.key = key;
    if (headers !== undefined) record.headers = headers;
    return { record, sent };
  }

  private async sendLoop(rng: Rng, loop: string): Promise<void> {
    for (let i = 0; !this.stopping; i++) {
      const { record, sent } = this.next(rng, loop, i, 'send');
      this.sent.push(sent);
      try {
        sent.ack = await this.producer.send(record);
      } catch (err) {
        sent.error = err as Error;
      }
      sent.settle = this.now();
      if (rng.chance(0.5)) await sleep(rng.int(0, 10));
    }
  }

  private async produceLoop(rng: Rng): Promise<void> {
    for (let i = 0; !this.stopping; ) {
      const burst = rng.int(1, 20);
      for (let b = 0; b < burst && !this.stopping; b++, i++) {
        const { record, sent } = this.next(rng, 'p', i, 'produce');
        try {
          this.producer.produce(record);
          this.sent.push(sent);
        } catch (err) {
          if (!(err instanceof BufferFullError)) {
            this.produceErrors.push(err as Error);
            continue;
          }
          this.producedRefused++;
          // Back-pressure; the stop must not wait for room that may never come.
          await Promise.race([this.producer.waitForRoom(), this.stopped]);
          break;
        }
      }
      await sleep(rng.int(2, 20));
    }
  }
}
