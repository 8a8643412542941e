// Leave-one-type-out folds: every XSTest prompt type together with its contrast type is one fold, so no
// prompt (asked of five models) nor its near-copy contrast twin is ever both trained on and measured.

/** The fold of a prompt type: the type with its `contrast_` prefix removed. */
export function foldOfType(type: string): string {
  return type.replace(/^contrast_/, "");
}

export interface Fold {
  /** The held-out fold's name (a type; its contrast type is held out with it). */
  name: string;
  /** Indices of the rows to train (or tune) on: every other fold. */
  train: number[];
  /** Indices of the held-out rows. */
  test: number[];
}

/** One fold per type (with its contrast), in order of first appearance; each row is held out exactly once. */
export function typeFolds(types: readonly string[]): Fold[] {
  const names: string[] = [];
  for (const type of types) {
    const fold = foldOfType(type);
    if (!names.includes(fold)) names.push(fold);
  }
  if (names.length < 2)
    throw new RangeError(
      `leave-one-type-out needs at least two types, got ${names.length} (${names.join(", ")})`,
    );
  return names.map((name) => {
    const train: number[] = [];
    const test: number[] = [];
    types.forEach((type, i) => {
      (foldOfType(type) === name ? test : train).push(i);
    });
    return { name, train, test };
  });
}
