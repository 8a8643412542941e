// Whether two runs of one experiment (say with 1 and with 2 intra-op threads: a stand-in for another CPU) draw the
// same conclusions: each comparison that is significant in either run must point the same way in the other, and
// none may be significant in opposite directions.

/** What the check needs of a computed conclusion (src/eval/metrics/conclusions.ts). */
export interface OrderedComparison {
  a: string;
  b: string;
  benchmark: string;
  metric: string;
  significant: boolean;
  difference: { value: number; low: number; high: number };
}

export interface OrderingVerdict {
  comparison: string;
  /** The significant direction in each run: "a>b", "a<b" or "n.s.". */
  first: string;
  second: string;
  /** Significant in one run only, but the other's estimate points the same way (or is 0). */
  agree: boolean;
}

function direction(c: OrderedComparison): string {
  if (!c.significant) return "n.s.";
  return c.difference.value > 0 ? "a>b" : "a<b";
}

const key = (c: OrderedComparison) => `${c.a} vs ${c.b}, ${c.benchmark} ${c.metric}`;

/** One verdict per comparison of `first`, matched by a, b, benchmark and metric in `second`. */
export function compareOrderings(
  first: readonly OrderedComparison[],
  second: readonly OrderedComparison[],
): OrderingVerdict[] {
  return first.map((x) => {
    const y = second.find((c) => key(c) === key(x));
    if (!y) return { comparison: key(x), first: direction(x), second: "missing", agree: false };
    const [dx, dy] = [direction(x), direction(y)];
    const opposite = (d: string, estimate: number) =>
      (d === "a>b" && estimate < 0) || (d === "a<b" && estimate > 0);
    const agree = !opposite(dx, y.difference.value) && !opposite(dy, x.difference.value);
    return { comparison: key(x), first: dx, second: dy, agree };
  });
}
