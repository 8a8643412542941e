// Peak memory of one training step against depth, with and without gradient checkpointing: each measurement in
// its own process (peak RSS is per process), a random-weight Llama of the given depth, LoRA r 8 on q/k/v.
// Usage: npx tsx bench/checkpointMemoryBench.ts [--layers 2,4,8,16] [--hidden 512] [--batch 4] [--length 256]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "2,4,8,16" },
    hidden: { type: "string", default: "512" },
    batch: { type: "string", default: "4" },
    length: { type: "string", default: "256" },
    child: { type: "string" },
  },
});

async function child(spec: string): Promise<void> {
  const [layers, hidden, batch, length, checkpointing] = spec.split(",").map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const { createModel } = await import("../src/model/createModel.js");
  const { presetConfig } = await import("../src/model/presets.js");
  const { randint, tidy } = await import("../src/engine/index.js");
  const { nextTokenLoss } = await import("../src/score/logProbs.js");
  const config = {
    ...presetConfig("llama-small", 4096),
    hidden_size: hidden,
    intermediate_size: Math.round((hidden * 8) / 3 / 16) * 16,
    num_hidden_layers: layers,
    num_attention_heads: hidden / 64,
    num_key_value_heads: hidden / 64,
    max_position_embeddings: 4096,
  };
  const model = createModel(config, { seed: 0 });
  // The paper's recipe: a frozen base, LoRA r 8 on q/k/v, so what grows with depth is the activations.
  const { attachAdapter, createLora } = await import("../src/model/lora.js");
  attachAdapter(model, createLora(model, { r: 8, alpha: 16, targetModules: ["q_proj", "k_proj", "v_proj"] }));
  model.gradientCheckpointing = checkpointing === 1;
  const before = process.memoryUsage().rss;
  const started = performance.now();
  tidy(() => {
    const ids = randint(0, 4096, [batch as number, length as number], { dtype: "int64" });
    nextTokenLoss(model.forward(ids), ids).backward();
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ weightsRss: before, seconds }));
}

function measure(
  layers: number,
  checkpointing: boolean,
): { peak: number; weightsRss: number; seconds: number } {
  const spec = [layers, values.hidden, values.batch, values.length, checkpointing ? 1 : 0].join(",");
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "PEAK %M", process.execPath, "--import", "tsx", self, "--child", spec],
    {
      encoding: "utf8",
    },
  );
  const peak = Number(/PEAK (\d+)/.exec(r.stderr)?.[1]) * 1024;
  const line = r.stdout.trim().split("\n").at(-1) ?? "{}";
  if (r.status !== 0 || !Number.isFinite(peak)) throw new Error(`child ${spec} failed: ${r.stderr}`);
  return { peak, ...(JSON.parse(line) as { weightsRss: number; seconds: number }) };
}

if (values.child) {
  await child(values.child);
} else {
  const mb = (b: number) => (b / 1e6).toFixed(0);
  console.log(
    `hidden ${values.hidden}, batch ${values.batch} x ${values.length} tokens, LoRA r 8 on q/k/v over a frozen f32 base, one forward+backward`,
  );
  console.log(
    "| layers | peak RSS, plain (MB) | peak RSS, checkpointing (MB) | step above the loaded model: plain / checkpointing (MB) | step time plain / checkpointing (s) |",
  );
  console.log("|---:|---:|---:|---:|---:|");
  for (const layers of values.layers.split(",").map(Number)) {
    const plain = measure(layers, false);
    const ckpt = measure(layers, true);
    console.log(
      `| ${layers} | ${mb(plain.peak)} | ${mb(ckpt.peak)} | ${mb(plain.peak - plain.weightsRss)} / ${mb(ckpt.peak - ckpt.weightsRss)} | ${plain.seconds.toFixed(1)} / ${ckpt.seconds.toFixed(1)} |`,
    );
  }
}
