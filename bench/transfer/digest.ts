import { createHash, type Hash } from 'node:crypto';

/** An order-independent digest of a multiset of byte strings: count and the sum of their SHA-1s. */
export class MultisetDigest {
  count = 0;
  private sum = 0n;

  add(...parts: (string | Buffer)[]): void {
    const hash = createHash('sha1');
    for (const part of parts) hash.update(part).update('\0');
    this.count++;
    this.sum = (this.sum + BigInt(`0x${hash.digest('hex').slice(0, 30)}`)) & ((1n << 128n) - 1n);
  }

  equals(other: MultisetDigest): boolean {
    return this.count === other.count && this.sum === other.sum;
  }

  hex(): string {
    return this.sum.toString(16).padStart(30, '0').slice(0, 12);
  }
}

/** A digest of a sequence of byte strings (each length-prefixed, so no two sequences collide by concatenation). */
export class SequenceDigest {
  count = 0;
  private readonly hash: Hash = createHash('sha1');
  private final: string | null = null;

  add(payload: string | Buffer): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    this.hash.update(length).update(bytes);
    this.count++;
  }

  hex(): string {
    this.final ??= this.hash.digest('hex');
    return this.final;
  }
}

/** A score as the double it denotes: Redis prints `%.17g`, the generator JavaScript's shortest form. */
export const scoreKey = (score: string | Buffer): string => String(Number(score.toString()));
