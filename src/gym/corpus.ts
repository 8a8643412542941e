// The training text of a world (prompts and answers), for training its tokenizer. Benchmarks are left out,
// so a tokenizer knows nothing the model was not trained on.
import type { ChatMessage } from "../data/records.js";
import type { World } from "./world.js";

/** Every distinct training text, in the order the pools hold them. */
export function worldCorpus(world: World): string[] {
  const texts = new Set<string>();
  const addMessages = (messages: readonly ChatMessage[]) => {
    for (const message of messages) texts.add(message.content);
  };
  for (const record of [...world.base, ...world.helpful, ...world.safety]) {
    texts.add(record.instruction);
    texts.add(record.output);
  }
  for (const record of world.preferences) {
    addMessages(record.prompt);
    addMessages(record.chosen);
    addMessages(record.rejected);
  }
  for (const record of world.raftPrompts) addMessages(record.prompt);
  for (const record of world.labelled) {
    addMessages(record.prompt);
    addMessages(record.answer);
  }
  return [...texts];
}
