// AdamW with parameter groups. State lives in ordinary tensors so checkpoints can save and restore it.

import { zerosLike } from "../create.js";
import { keep } from "../scope.js";
import { nt, type Tensor } from "../tensor.js";

export interface ParamGroup {
  params: Tensor[];
  /** Decoupled weight decay for this group (0 for biases and norms, by convention). */
  weightDecay?: number;
  /** Multiplies the optimizer's learning rate for this group. */
  lrScale?: number;
}

export interface AdamWOptions {
  /** Learning rate (the schedule may change it between steps through `lr`). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Default weight decay for groups that do not set their own. */
  weightDecay?: number;
}

interface GroupState {
  params: Tensor[];
  expAvg: Tensor[];
  expAvgSq: Tensor[];
  weightDecay: number;
  lrScale: number;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Steps taken so far (bias correction uses it). */
  stepCount = 0;
  readonly groups: GroupState[];

  constructor(groups: ParamGroup[] | Tensor[], options: AdamWOptions) {
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    const defaultDecay = options.weightDecay ?? 0.01;
    const list: ParamGroup[] = isTensorList(groups) ? [{ params: groups }] : groups;
    this.groups = list.map((g) => ({
      params: g.params,
      expAvg: g.params.map((p) => keep(zerosLike(p))),
      expAvgSq: g.params.map((p) => keep(zerosLike(p))),
      weightDecay: g.weightDecay ?? defaultDecay,
      lrScale: g.lrScale ?? 1,
    }));
  }

  /** One update from the parameters' accumulated gradients. */
  step(): void {
    this.stepCount++;
    for (const g of this.groups) {
      nt().adamwStep(
        g.params.map((p) => p.handle),
        g.expAvg.map((t) => t.handle),
        g.expAvgSq.map((t) => t.handle),
        {
          lr: this.lr * g.lrScale,
          beta1: this.beta1,
          beta2: this.beta2,
          eps: this.eps,
          weightDecay: g.weightDecay,
          step: this.stepCount,
        },
      );
    }
  }

  /** Drops the gradients (set to none, as PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.groups) nt().zeroGrads(g.params.map((p) => p.handle));
  }

  /** Every parameter across groups. */
  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  dispose(): void {
    for (const g of this.groups) for (const t of [...g.expAvg, ...g.expAvgSq]) t.dispose();
  }
}

function isTensorList(groups: ParamGroup[] | Tensor[]): groups is Tensor[] {
  return groups.length === 0 || (groups[0] as { isTensor?: boolean }).isTensor === true;
}

/** Splits parameters into a decayed group (matrices) and a non-decayed one (biases, norms, 1-D). */
export function weightDecayGroups(
  named: Iterable<[string, Tensor]>,
  weightDecay: number,
  exclude: (name: string, param: Tensor) => boolean = (_n, p) => p.rank < 2,
): ParamGroup[] {
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [name, p] of named) (exclude(name, p) ? noDecay : decay).push(p);
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}
