// The README.md a training run leaves next to its model: what it started from, on what, how, and how it ended.

export interface ModelCardInput {
  method: string;
  baseModel: string;
  adapter: boolean;
  data: {
    train: string;
    eval?: string;
    mapping?: string;
    examples: number;
    evalExamples: number;
    skipped: number;
  };
  config: unknown;
  summary: {
    steps: number;
    tokens: number;
    seconds: number;
    final: Record<string, number>;
    eval: Record<string, number>;
  };
  date: string;
}

export function modelCard(c: ModelCardInput): string {
  const figures = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `| ${k} | ${Number.isInteger(v) ? v : v.toPrecision(5)} |`)
      .join("\n");
  const usage = c.adapter
    ? `safetune generate --model ${c.baseModel} --adapter THIS_FOLDER --chat --prompt "..."`
    : `safetune generate --model THIS_FOLDER --chat --prompt "..."`;
  return `---
library_name: ${c.adapter ? "peft" : "transformers"}
base_model: ${c.baseModel}
tags: [safetune, ${c.method.toLowerCase()}]
---

# ${c.method} of ${c.baseModel}

Trained with safetune on ${c.date}: ${c.adapter ? "a LoRA adapter (PEFT format)" : "all weights (a Hugging Face model folder)"}.

## Data

- training: \`${c.data.train}\`${c.data.mapping ? ` (mapping \`${c.data.mapping}\`)` : ""}: ${c.data.examples} examples${c.data.skipped ? `, ${c.data.skipped} invalid rows skipped` : ""}
${c.data.eval ? `- evaluation: \`${c.data.eval}\`: ${c.data.evalExamples} examples\n` : ""}
## Training

${c.summary.steps} optimizer steps, ${c.summary.tokens.toLocaleString("en-US")} tokens, ${(c.summary.seconds / 60).toFixed(1)} minutes.

| final training figure | value |
|---|---|
${figures(c.summary.final)}
${Object.keys(c.summary.eval).length ? `\n| held-out figure | value |\n|---|---|\n${figures(c.summary.eval)}\n` : ""}
## Configuration

\`\`\`json
${JSON.stringify(c.config, null, 2)}
\`\`\`

## Use

\`\`\`sh
${usage}
\`\`\`
`;
}
