import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { type FrameHeader, frameIntact, frameLength, parseHeader } from './frame.js';

interface ScannedFrame {
  offset: number;
  header: FrameHeader;
}

export interface ScanResult {
  frames: ScannedFrame[];
  /** Byte offset just past the last whole frame. */
  validEnd: number;
  /** Set when bytes after validEnd are a torn tail (no whole frame follows them). */
  tornTail?: { reason: string };
}

/**
 * Walks every frame of a segment held in `buf`. An invalid frame followed by
 * nothing valid is a torn tail (a write cut short) and may be cut; an invalid
 * frame with a whole frame somewhere after it is damage in the middle, which
 * is never cut: it raises CORRUPT naming the file and byte offset.
 */
export function scanSegment(buf: Buffer, file: string, magic: number, maxPayload: number): ScanResult {
  const frames: ScannedFrame[] = [];
  let at = 0;
  while (at < buf.length) {
    const header = parseHeader(buf, at, magic, maxPayload);
    const problem = typeof header === 'string' ? header : frameIntact(buf, at, header) ? undefined : 'checksum';
    if (problem !== undefined) {
      // Positions only grow, so a real frame after the damaged one starts past the previous frame's end + 1.
      // (A frame's bytes inside a torn frame's payload, e.g. an uploaded log file, have older positions.)
      const prev = frames.at(-1)?.header;
      const minPosition = prev ? prev.firstPosition + prev.count + 1 : 1;
      const next = findWholeFrame(buf, at + 1, magic, maxPayload, minPosition);
      if (next !== undefined) throw corruptAt(file, at, `${problem}; a whole frame follows at byte ${next}`);
      return { frames, validEnd: at, tornTail: { reason: problem } };
    }
    frames.push({ offset: at, header: header as FrameHeader });
    at += frameLength((header as FrameHeader).storedLength);
  }
  return { frames, validEnd: at };
}

function findWholeFrame(buf: Buffer, from: number, magic: number, maxPayload: number, minPosition: number): number | undefined {
  const magicBytes = Buffer.alloc(4);
  magicBytes.writeUInt32LE(magic, 0);
  for (let at = buf.indexOf(magicBytes, from); at !== -1; at = buf.indexOf(magicBytes, at + 1)) {
    const header = parseHeader(buf, at, magic, maxPayload);
    if (typeof header !== 'string' && header.firstPosition >= minPosition && frameIntact(buf, at, header)) return at;
  }
  return undefined;
}

export function corruptAt(file: string, offset: number, reason: string): FfcdbError {
  return new FfcdbError(ErrorCode.CORRUPT, `${file} is damaged at byte ${offset}: ${reason}`, { file, offset, reason });
}
