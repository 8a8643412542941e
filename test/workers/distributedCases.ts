// What each rank contributes to the collectives of test/distributed.test.ts, as plain numbers: the worker turns
// them into tensors, the test computes the expected results from every rank's inputs.
export interface CaseInput {
  name: string;
  shape: number[];
  dtype: "float32" | "int64";
  values: number[];
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function input(
  name: string,
  shape: number[],
  dtype: CaseInput["dtype"],
  f: (i: number) => number,
): CaseInput {
  return { name, shape, dtype, values: Array.from({ length: count(shape) }, (_, i) => f(i)) };
}

/** Tensors for broadcast, one list per rank: every rank's differ, so a copy from the root is visible. */
export function broadcastInputs(rank: number): CaseInput[] {
  return [
    input("f32 [2,3]", [2, 3], "float32", (i) => rank * 10 + i + 0.5),
    input("i64 [4]", [4], "int64", (i) => 2 ** 40 + rank * 1000 + i),
    input("f32 []", [], "float32", () => -rank - 0.25),
  ];
}

/** Tensors for allReduce; values chosen so sum, max and min each pick from different ranks per element. */
export function reduceInputs(rank: number): CaseInput[] {
  return [
    input("f32 [5]", [5], "float32", (i) => (i % 2 === 0 ? rank + i : -rank * i) + 0.5),
    input("f32 [2,3,4]", [2, 3, 4], "float32", (i) => ((i * 7 + rank * 5) % 11) - 5),
    // 2^40 + small: an int64 sum that a float32 path would round.
    input("i64 [2,2]", [2, 2], "int64", (i) => 2 ** 40 + rank * 3 + i),
    input("i64 [7]", [7], "int64", (i) => ((i + rank * 3) % 5) - 2),
  ];
}

/** One tensor per rank for allGather. */
export function gatherInputs(rank: number): CaseInput[] {
  return [
    input("f32 [2,2]", [2, 2], "float32", (i) => rank * 100 + i),
    input("i64 [3]", [3], "int64", (i) => -(2 ** 41) + rank * 7 + i),
  ];
}

export type ReduceName = "sum" | "max" | "min";

export function reduceValues(perRank: number[][], op: ReduceName): number[] {
  const first = perRank[0] ?? [];
  return first.map((_, i) => {
    const column = perRank.map((values) => values[i] as number);
    return op === "sum"
      ? column.reduce((a, b) => a + b, 0)
      : op === "max"
        ? Math.max(...column)
        : Math.min(...column);
  });
}
