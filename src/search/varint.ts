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

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

export class VarintReader {
  readonly #buf: Uint8Array;
  #at = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  read(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.#buf[this.#at++];
      if (b === undefined) throw new RangeError('varint runs past the end of its block');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }
}
