import { crc32 } from 'node:zlib';

/**
 * One append call's batch on disk. Little-endian, 52-byte header, payload,
 * 8-byte trailer (so logs can be walked backwards):
 *
 *   0  u32 magic            'FFCS' stream frame, 'FFCF' feed frame
 *   4  u8  format version   1
 *   5  u8  flags            bit 0: payload is lz4-compressed; bit 1: last feed frame of a commit group;
 *                           bit 2: a commit-journal record blanked by a purge (payload zeroed, skipped by replay)
 *   6  u16 event count
 *   8  u32 writer epoch
 *  12  u32 raw length       payload length before compression
 *  16  u32 stored length    payload length on disk
 *  20  u32 link offset      stream frame: byte offset of its feed frame
 *  24  u64 link segment     stream frame: first position of the feed segment holding its feed frame
 *  32  u64 first version    first stream version in the frame
 *  40  u64 first position   first global position in the frame
 *  48  u32 crc32            over bytes 0..47 and the stored payload
 *  52  ... stored payload
 *  end u32 frame length (header + payload + trailer), u32 magic
 *
 * u64 fields hold integers below 2^53 (JavaScript's safe range); anything larger is corruption.
 */
export const HEADER_BYTES = 52;
export const TRAILER_BYTES = 8;
export const FRAME_OVERHEAD = HEADER_BYTES + TRAILER_BYTES;
export const FORMAT_VERSION = 1;
export const STREAM_MAGIC = 0x53434646; // 'FFCS'
export const FEED_MAGIC = 0x46434646; // 'FFCF'
export const FLAG_LZ4 = 1;
export const FLAG_GROUP_END = 2;
export const FLAG_BLANKED = 4;
const KNOWN_FLAGS = FLAG_LZ4 | FLAG_GROUP_END | FLAG_BLANKED;

export interface FrameHeader {
  magic: number;
  flags: number;
  count: number;
  epoch: number;
  rawLength: number;
  storedLength: number;
  linkOffset: number;
  linkSegment: number;
  firstVersion: number;
  firstPosition: number;
}

export function frameLength(storedLength: number): number {
  return FRAME_OVERHEAD + storedLength;
}

export function encodeFrame(header: Omit<FrameHeader, 'storedLength'>, stored: Uint8Array): Buffer {
  const total = frameLength(stored.length);
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32LE(header.magic, 0);
  buf.writeUInt8(FORMAT_VERSION, 4);
  buf.writeUInt8(header.flags, 5);
  buf.writeUInt16LE(header.count, 6);
  buf.writeUInt32LE(header.epoch, 8);
  buf.writeUInt32LE(header.rawLength, 12);
  buf.writeUInt32LE(stored.length, 16);
  buf.writeUInt32LE(header.linkOffset, 20);
  writeU64(buf, header.linkSegment, 24);
  writeU64(buf, header.firstVersion, 32);
  writeU64(buf, header.firstPosition, 40);
  buf.set(stored, HEADER_BYTES);
  buf.writeUInt32LE(crc32(stored, crc32(buf.subarray(0, 48))), 48);
  buf.writeUInt32LE(total, HEADER_BYTES + stored.length);
  buf.writeUInt32LE(header.magic, HEADER_BYTES + stored.length + 4);
  return buf;
}

/** The link fields are known only once the feed is laid out, so they are patched in (with the checksum) afterwards. */
export function setLink(frame: Buffer, linkSegment: number, linkOffset: number): void {
  frame.writeUInt32LE(linkOffset, 20);
  writeU64(frame, linkSegment, 24);
  const stored = frame.subarray(HEADER_BYTES, frame.length - TRAILER_BYTES);
  frame.writeUInt32LE(crc32(stored, crc32(frame.subarray(0, 48))), 48);
}

export type HeaderProblem = 'short' | 'magic' | 'version' | 'flags' | 'length' | 'range';

/**
 * Reads a header and checks everything that can be checked without the payload.
 * Declared lengths are capped before anyone allocates for them.
 */
export function parseHeader(buf: Buffer, at: number, magic: number, maxPayload: number): FrameHeader | HeaderProblem {
  if (buf.length - at < HEADER_BYTES) return 'short';
  if (buf.readUInt32LE(at) !== magic) return 'magic';
  if (buf.readUInt8(at + 4) !== FORMAT_VERSION) return 'version';
  const flags = buf.readUInt8(at + 5);
  if ((flags & ~KNOWN_FLAGS) !== 0) return 'flags';
  const rawLength = buf.readUInt32LE(at + 12);
  const storedLength = buf.readUInt32LE(at + 16);
  if (rawLength > maxPayload || storedLength > maxPayload) return 'length';
  if ((flags & FLAG_LZ4) === 0 && rawLength !== storedLength) return 'length';
  const count = buf.readUInt16LE(at + 6);
  const linkSegment = readU64(buf, at + 24);
  const firstVersion = readU64(buf, at + 32);
  const firstPosition = readU64(buf, at + 40);
  if (count === 0 || linkSegment < 0 || firstVersion < 1 || firstPosition < 1) return 'range';
  return {
    magic,
    flags,
    count,
    epoch: buf.readUInt32LE(at + 8),
    rawLength,
    storedLength,
    linkOffset: buf.readUInt32LE(at + 20),
    linkSegment,
    firstVersion,
    firstPosition,
  };
}

/** True when the whole frame (header, payload, trailer) is present and its checksum and trailer agree. */
export function frameIntact(buf: Buffer, at: number, header: FrameHeader): boolean {
  const end = at + frameLength(header.storedLength);
  if (end > buf.length) return false;
  const payloadEnd = at + HEADER_BYTES + header.storedLength;
  if (buf.readUInt32LE(payloadEnd) !== end - at || buf.readUInt32LE(payloadEnd + 4) !== header.magic) return false;
  const crc = crc32(buf.subarray(at + HEADER_BYTES, payloadEnd), crc32(buf.subarray(at, at + 48)));
  return crc === buf.readUInt32LE(at + 48);
}

export function framePayload(buf: Buffer, at: number, header: FrameHeader): Buffer {
  return buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + header.storedLength);
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
}

/** -1 when the value is outside JavaScript's safe integer range. */
function readU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32LE(at + 4);
  if (hi >= 0x20_0000) return -1;
  return hi * 0x1_0000_0000 + buf.readUInt32LE(at);
}
