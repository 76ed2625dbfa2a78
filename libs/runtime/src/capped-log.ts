/**
 * Keeps the first and the last `limit / 2` bytes of a stream and counts what
 * falls between, so a flood of output costs bounded memory yet the start and
 * the end of what an engine said both survive.
 */
export class CappedLog {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(private readonly limit: number) {}

  write(chunk: Buffer): void {
    this.total += chunk.length;
    const headRoom = Math.floor(this.limit / 2) - this.headBytes;
    if (headRoom > 0) {
      const part = chunk.subarray(0, headRoom);
      this.head.push(part);
      this.headBytes += part.length;
      chunk = chunk.subarray(part.length);
      if (!chunk.length) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    const tailLimit = this.limit - Math.floor(this.limit / 2);
    while (this.tailBytes - this.tail[0].length >= tailLimit) this.tailBytes -= this.tail.shift()!.length;
    if (this.tailBytes > tailLimit * 2) this.compact(tailLimit);
  }

  private compact(tailLimit: number): void {
    const joined = Buffer.concat(this.tail);
    this.tail = [joined.subarray(joined.length - tailLimit)];
    this.tailBytes = tailLimit;
  }

  get totalBytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.headBytes + this.tailBytes;
  }

  toBuffer(): Buffer {
    const tailLimit = this.limit - Math.floor(this.limit / 2);
    let tail = Buffer.concat(this.tail);
    if (tail.length > tailLimit) tail = tail.subarray(tail.length - tailLimit);
    const omitted = this.total - this.headBytes - tail.length;
    const marker = omitted > 0 ? [Buffer.from(`\n[... ${omitted} bytes of output omitted ...]\n`)] : [];
    return Buffer.concat([...this.head, ...marker, tail]);
  }

  /**
   * The last `bytes` of the log as text: a multi-byte character cut at the
   * start is dropped, and NULs (which PostgreSQL text refuses) are replaced.
   */
  tailText(bytes: number): string {
    const all = this.toBuffer();
    let start = Math.max(0, all.length - bytes);
    while (start < all.length && (all[start] & 0xc0) === 0x80) start++;
    return all
      .subarray(start)
      .toString('utf8')
      .replace(/\u0000/g, '\ufffd');
  }
}
