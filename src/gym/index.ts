// The synthetic world generator: a small, templated world of helpful tasks, harmful requests and benign
// look-alikes for aligning and evaluating tiny models, with held-out phrasings for evaluation.
export { actsBySplit, lookAlikesBySplit, type TemplateSet, templateSets } from "./catalog.js";
export { worldCorpus } from "./corpus.js";
export {
  HARMFUL_PLACEHOLDER,
  NEEDLESS_REFUSAL_VARIANTS,
  needlessRefusal,
  SAFE_VARIANTS,
  safeAnswer,
  UNSAFE_VARIANTS,
  unsafeAnswer,
} from "./harm/answers.js";
export { type AttackTemplate, attackedPrompt, attackTemplates } from "./harm/attacks.js";
export { HARM_CATEGORIES, type HarmCategory, type HarmfulAct, harmfulActs } from "./harm/categories.js";
export { type HarmfulRequest, harmfulRequest } from "./harm/requests.js";
export { COUNTRIES, type Country } from "./knowledgeBase.js";
export {
  LOOK_ALIKE_CATEGORIES,
  LOOK_ALIKES,
  type LookAlikeCategory,
  type LookAlikeForm,
  type LookAlikeItem,
  lookAlikeItems,
  lookAlikePrompts,
} from "./lookAlikes.js";
export {
  REQUEST_EVAL_TEMPLATES,
  REQUEST_TRAIN_TEMPLATES,
  REQUEST_VALID_TEMPLATES,
} from "./requestTemplates.js";
export { Rng } from "./rng.js";
export { taskAnswerCorrect } from "./taskAnswer.js";
export { SPLITS, type Split, type TaskFamily, type TaskItem, type TaskTemplate } from "./tasks/family.js";
export { HOWTOS, howToAnswer } from "./tasks/howto.js";
export { TASK_FAMILIES, type TaskFamilyId, taskFamily } from "./tasks/registry.js";
export { skeleton } from "./text.js";
export {
  type AttackedRow,
  type BenchmarkRow,
  DEFAULT_PREFERENCE_MIX,
  DEFAULT_WORLD_SIZES,
  generateWorld,
  type LabelledRow,
  type PreferenceMix,
  type SplitBenchmarks,
  WORLD_REVISION,
  type World,
  type WorldOptions,
  type WorldSizes,
} from "./world.js";
export { type WorldFiles, writeWorld } from "./writeWorld.js";
