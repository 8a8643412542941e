// The few protobuf messages of TensorBoard's event files, encoded by hand: Event (event.proto), Summary and
// Summary.Value with a simple_value (summary.proto), SessionLog. Field numbers follow tensorflow/tensorboard's
// tensorboard/compat/proto/event.proto and summary.proto.

const WIRE_VARINT = 0;
const WIRE_64BIT = 1;
const WIRE_BYTES = 2;
const WIRE_32BIT = 5;

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function key(field: number, wire: number): number[] {
  return varint(BigInt((field << 3) | wire));
}

function bytesField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(key(field, WIRE_BYTES)),
    Buffer.from(varint(BigInt(bytes.length))),
    bytes,
  ]);
}

function doubleField(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([Buffer.from(key(field, WIRE_64BIT)), b]);
}

function floatField(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return Buffer.concat([Buffer.from(key(field, WIRE_32BIT)), b]);
}

function varintField(field: number, value: bigint): Buffer {
  return Buffer.from([...key(field, WIRE_VARINT), ...varint(value)]);
}

/** Summary.Value { tag = 1; simple_value = 2 }. */
function scalarValue(tag: string, value: number): Buffer {
  return Buffer.concat([bytesField(1, Buffer.from(tag, "utf8")), floatField(2, value)]);
}

/** Summary { repeated Value value = 1 }. */
function summary(scalars: [string, number][]): Buffer {
  return Buffer.concat(scalars.map(([tag, value]) => bytesField(1, scalarValue(tag, value))));
}

/** Event header fields: wall_time = 1 (seconds since the epoch), step = 2. */
function eventHead(wallTime: number, step: number): Buffer {
  return Buffer.concat([doubleField(1, wallTime), ...(step === 0 ? [] : [varintField(2, BigInt(step))])]);
}

/** The first event of every file: Event { file_version = 3 }. */
export function fileVersionEvent(wallTime: number): Buffer {
  return Buffer.concat([eventHead(wallTime, 0), bytesField(3, Buffer.from("brain.Event:2", "utf8"))]);
}

/** Event { summary = 5 } with one simple_value per scalar. */
export function scalarsEvent(wallTime: number, step: number, scalars: [string, number][]): Buffer {
  return Buffer.concat([eventHead(wallTime, step), bytesField(5, summary(scalars))]);
}

/**
 * Event { session_log = 7 { status = START (1) } }: a restart at `step`. TensorBoard drops the events of this
 * file's run at or after that step written before it (the steps a resumed run replays).
 */
export function sessionStartEvent(wallTime: number, step: number): Buffer {
  return Buffer.concat([eventHead(wallTime, step), bytesField(7, varintField(1, 1n))]);
}
