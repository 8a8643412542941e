// Deterministic memory: tensors made inside tidy() are freed at its end, except those it returns or keep()s.
// Native memory is invisible to V8's collector, so a training loop must not rely on garbage collection.

export interface Disposable {
  dispose(): void;
}

const scopes: Set<Disposable>[] = [];
const kept = new WeakSet<Disposable>();

/** Called by every new tensor: it belongs to the innermost open scope, if any. */
export function track(item: Disposable): void {
  scopes[scopes.length - 1]?.add(item);
}

/** Exempts a tensor from every enclosing scope's cleanup (model weights, optimizer state, caches). */
export function keep<T extends Disposable>(item: T): T {
  kept.add(item);
  for (const scope of scopes) scope.delete(item);
  return item;
}

/**
 * Runs `fn` and frees every tensor created during it except those reachable from its result
 * (a tensor, or arrays / plain objects / Maps holding tensors). Returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const item of scope) item.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    // Free what was made before the first await and swallow the rejection we will never observe.
    result.catch(() => {});
    for (const item of scope) if (!kept.has(item)) item.dispose();
    throw new Error("tidy() takes a synchronous function: tensors cannot be tracked across an await");
  }
  const survivors = new Set<Disposable>();
  collect(result, survivors, 0);
  const parent = scopes[scopes.length - 1];
  for (const item of scope) {
    if (survivors.has(item)) parent?.add(item);
    else if (!kept.has(item)) item.dispose();
  }
  return result;
}

function collect(value: unknown, into: Set<Disposable>, depth: number): void {
  if (value === null || typeof value !== "object" || depth > 8) return;
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

function isDisposable(value: object): value is Disposable {
  return (
    typeof (value as { dispose?: unknown }).dispose === "function" &&
    (value as { isTensor?: boolean }).isTensor === true
  );
}

/** How many scopes are open (for tests and assertions). */
export function scopeDepth(): number {
  return scopes.length;
}
