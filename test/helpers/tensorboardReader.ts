// Reads TensorBoard event files the way a reader that never saw safetune's writer would: TFRecord frames checked
// with a bitwise CRC-32C (not the writer's table), events decoded by protobufjs from TensorBoard's .proto files
// (test/fixtures/tensorboard).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { REPO_ROOT } from "./fixtures.js";

/** CRC-32C, one bit at a time (polynomial 0x1EDC6F41 reflected). */
export function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** TensorFlow's masked CRC (tensorflow/core/lib/hash/crc32c.h: rotate right 15, add 0xa282ead8). */
export function referenceMask(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: Map<string, number>;
  sessionStatus?: string;
}

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "tensorboard");

function eventType(): protobuf.Type {
  const root = new protobuf.Root();
  protobuf.parse(readFileSync(join(FIXTURES, "summary.proto"), "utf8"), root, { keepCase: true });
  protobuf.parse(readFileSync(join(FIXTURES, "event.proto"), "utf8"), root, { keepCase: true });
  return root.lookupType("tensorboard.Event");
}

/** The records of a TFRecord file; throws on a bad CRC or a torn record unless `allowTornTail`. */
export function readRecords(bytes: Buffer, options: { allowTornTail?: boolean } = {}): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) {
      if (options.allowTornTail) break;
      throw new Error(`torn record header at byte ${at}`);
    }
    const header = bytes.subarray(at, at + 8);
    const length = Number(header.readBigUInt64LE(0));
    if (bytes.readUInt32LE(at + 8) !== referenceMask(referenceCrc32c(header)))
      throw new Error(`bad length CRC at byte ${at}`);
    if (at + 12 + length + 4 > bytes.length) {
      if (options.allowTornTail) break;
      throw new Error(`torn record at byte ${at}`);
    }
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (bytes.readUInt32LE(at + 12 + length) !== referenceMask(referenceCrc32c(data)))
      throw new Error(`bad data CRC at byte ${at}`);
    records.push(Buffer.from(data));
    at += 12 + length + 4;
  }
  return records;
}

export function decodeEvents(path: string, options: { allowTornTail?: boolean } = {}): DecodedEvent[] {
  const Event = eventType();
  return readRecords(readFileSync(path), options).map((record) => {
    const e = Event.toObject(Event.decode(record), { longs: Number, enums: String, defaults: true }) as {
      wall_time: number;
      step: number;
      file_version?: string;
      summary?: { value: { tag: string; simple_value: number }[] };
      session_log?: { status: string };
    };
    return {
      wallTime: e.wall_time,
      step: e.step,
      ...(e.file_version ? { fileVersion: e.file_version } : {}),
      scalars: new Map((e.summary?.value ?? []).map((v) => [v.tag, v.simple_value])),
      ...(e.session_log ? { sessionStatus: e.session_log.status } : {}),
    };
  });
}
