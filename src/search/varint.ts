/** LEB128 unsigned integers, for postings: doc deltas and positions are mostly one byte. */
export class VarintWriter {
  #buf = Buffer.allocUnsafe(256);
  #len = 0;

  write(n: number): void {
    if (this.#len + 10 > this.#buf.length) {
      const next = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    while (n >= 0x80) {
      this.#buf[this.#len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#len++] = n;
  }

  /** The bytes written so far (a view: copy before writing more). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  reset(): void {
    this.#len = 0;
  }
}

export class VarintReader {
  readonly #buf: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#at = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#at >= this.#end;
  }

  read(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.#at >= this.#end) throw new RangeError('varint runs past the end of its block');
      const b = this.#buf[this.#at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }
}
