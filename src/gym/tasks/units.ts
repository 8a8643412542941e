// Unit conversions by powers of ten, so the answer is the quantity followed by zeros: learnable by copying.
import type { Rng } from "../rng.js";
import { fill } from "../text.js";
import { type Split, type TaskFamily, type TaskTemplate, templatesOf } from "./family.js";

interface Conversion {
  from: string;
  fromOne: string;
  to: string;
  factor: number;
}

const CONVERSIONS: readonly Conversion[] = [
  { from: "kilometers", fromOne: "kilometer", to: "meters", factor: 1000 },
  { from: "meters", fromOne: "meter", to: "centimeters", factor: 100 },
  { from: "kilograms", fromOne: "kilogram", to: "grams", factor: 1000 },
  { from: "liters", fromOne: "liter", to: "milliliters", factor: 1000 },
];

const TRAIN: readonly TaskTemplate[] = [
  { variant: "convert", text: "How many {to} are in {q} {from}?" },
  { variant: "convert", text: "Convert {q} {from} to {to}." },
  { variant: "convert", text: "What is {q} {from} in {to}?" },
  { variant: "convert", text: "Change {q} {from} into {to}." },
  { variant: "convert", text: "Express {q} {from} in {to}." },
  { variant: "convert", text: "{q} {from} is how many {to}?" },
  { variant: "convert", text: "Tell me how many {to} there are in {q} {from}." },
  { variant: "convert", text: "I have {q} {from}. How many {to} is that?" },
];

const VALID: readonly TaskTemplate[] = [
  { variant: "convert", text: "Find how many {to} make {q} {from}." },
  { variant: "convert", text: "I need {q} {from} in {to}. What is the answer?" },
];

const EVAL: readonly TaskTemplate[] = [
  { variant: "convert", text: "Please write {q} {from} using {to}." },
  { variant: "convert", text: "If something is {q} {from}, how many {to} is it?" },
  { variant: "convert", text: "Give me {q} {from} in {to}, please." },
];

export const units: TaskFamily = {
  id: "units",
  trainTemplates: TRAIN,
  validTemplates: VALID,
  evalTemplates: EVAL,
  generate(rng: Rng, split: Split) {
    const template = rng.pick(templatesOf(this, split));
    const conversion = rng.pick(CONVERSIONS);
    const q = rng.int(1, 9);
    const from = q === 1 ? conversion.fromOne : conversion.from;
    const answer = `${q * conversion.factor} ${conversion.to}`;
    return {
      prompt: fill(template.text, { q: String(q), from, to: conversion.to }),
      reference: `${q} ${from} is ${answer}.`,
      answer,
      template: template.text,
    };
  },
};
