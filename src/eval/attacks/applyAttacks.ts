// Attacks as benchmark transforms: each harmful benchmark gains one attacked copy per attack.
import type { Benchmark } from "../types.js";
import type { Attack } from "./attack.js";

/** The name of benchmark `name` under `attack`: "AdvBench+base64". */
export function attackedName(name: string, attack: string): string {
  return `${name}+${attack}`;
}

/**
 * The benchmarks with, after each harmful one that is not already an attack (replayed attacks are left as
 * they are), a copy per attack: same ids and categories, prompts transformed, items recording the attack, the
 * benchmark attacked and the request before the attack (what judges read). Other kinds pass through unchanged.
 */
export function applyAttacks(benchmarks: readonly Benchmark[], attacks: readonly Attack[]): Benchmark[] {
  const out: Benchmark[] = [];
  for (const b of benchmarks) {
    out.push(b);
    if (b.kind !== "harmful" || attacks.length === 0 || b.items.some((i) => i.attack !== undefined)) continue;
    for (const attack of attacks) {
      out.push({
        name: attackedName(b.name, attack.name),
        kind: "harmful",
        source: `${b.source}, attack ${attack.name}`,
        items: b.items.map((item) => ({
          ...item,
          prompt: attack.apply(item.prompt),
          request: item.request ?? item.prompt,
          attack: attack.name,
          attackedBenchmark: b.name,
        })),
      });
    }
  }
  return out;
}
