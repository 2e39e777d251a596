import { FRAME_OVERHEAD, type FrameHeader, HEADER_BYTES, TRAILER_BYTES, frameIntact, frameLength, parseHeader } from './frame.js';
import type { FileHandles } from './file-handles.js';
import { corruptAt } from './segment-scan.js';

const CHUNK = 256 * 1024;

export interface ReadFrame {
  /** Byte offset of the frame in its file. */
  offset: number;
  header: FrameHeader;
  /** A buffer holding the frame at `at`. Valid until the next iteration. */
  buf: Buffer;
  at: number;
}

/**
 * Frames of [start, end) of a file, first to last, read in large chunks.
 * Every frame is checked; a bad one inside the committed range is corruption.
 */
export function* forwardFrames(files: FileHandles, file: string, start: number, end: number, magic: number, maxPayload: number): Generator<ReadFrame> {
  let at = start;
  while (at < end) {
    let buf = files.read(file, at, Math.min(CHUNK, end - at));
    let i = 0;
    while (at + i < end) {
      let header = parseHeader(buf, i, magic, maxPayload);
      if (header === 'short' || (typeof header !== 'string' && i + frameLength(header.storedLength) > buf.length)) {
        if (i > 0) break; // refill from this frame on
        const size = typeof header === 'string' ? HEADER_BYTES : frameLength(header.storedLength);
        if (at + size > end) throw corruptAt(file, at, 'frame runs past the end of the committed data');
        buf = files.read(file, at, size);
        header = parseHeader(buf, 0, magic, maxPayload);
      }
      if (typeof header === 'string' || !frameIntact(buf, i, header)) {
        throw corruptAt(file, at + i, typeof header === 'string' ? `bad header (${header})` : 'checksum mismatch');
      }
      yield { offset: at + i, header, buf, at: i };
      i += frameLength(header.storedLength);
    }
    at += i;
  }
}

/** Frames of [0, end) of a file, last to first, walking the trailers back in large chunks. */
export function* backwardFrames(files: FileHandles, file: string, end: number, magic: number, maxPayload: number): Generator<ReadFrame> {
  /** Reads [from, to) whole, or reports the file as shorter than its committed extent. */
  const readRange = (from: number, to: number): Buffer => {
    const got = files.read(file, from, to - from);
    if (got.length !== to - from) throw corruptAt(file, from + got.length, 'file is shorter than its committed data');
    return got;
  };
  let chunkStart = Math.max(0, end - CHUNK);
  let buf = end > 0 ? readRange(chunkStart, end) : Buffer.alloc(0);
  let frameEnd = end;
  while (frameEnd > 0) {
    if (frameEnd - chunkStart < TRAILER_BYTES) {
      chunkStart = Math.max(0, frameEnd - CHUNK);
      buf = readRange(chunkStart, frameEnd);
    }
    const trailerAt = frameEnd - TRAILER_BYTES - chunkStart;
    if (trailerAt < 0) throw corruptAt(file, frameEnd, 'no room for a frame trailer');
    const length = buf.readUInt32LE(trailerAt);
    const offset = frameEnd - length;
    if (length < FRAME_OVERHEAD || length > maxPayload + FRAME_OVERHEAD || offset < 0 || buf.readUInt32LE(trailerAt + 4) !== magic) {
      throw corruptAt(file, frameEnd - TRAILER_BYTES, 'bad frame trailer');
    }
    if (offset < chunkStart) {
      chunkStart = Math.max(0, Math.min(offset, frameEnd - CHUNK));
      buf = readRange(chunkStart, frameEnd);
    }
    const at = offset - chunkStart;
    const header = parseHeader(buf, at, magic, maxPayload);
    if (typeof header === 'string' || frameLength(header.storedLength) !== length || !frameIntact(buf, at, header)) {
      throw corruptAt(file, offset, typeof header === 'string' ? `bad header (${header})` : 'checksum mismatch');
    }
    yield { offset, header, buf, at };
    frameEnd = offset;
  }
}
