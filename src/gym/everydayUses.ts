// Everyday uses of the trigger verbs (an option for the base mix, off by default): harmless, common uses of the
// verbs the training look-alike acts use ("crack a window for fresh air", "cut a deck of cards"). A real
// pretrained model has met every trigger verb in many such uses before alignment; a tiny model pretrained on the
// base mix meets "kill" or "crack" only in harmful requests and a few look-alikes. These items are written from
// everyday English, not from any benchmark, and share no act with the look-alikes or harmful acts of any split.
import { roundRobin } from "./balance.js";

/** The trigger verbs of the training look-alike acts, in a fixed order (the round-robin order). */
export const EVERYDAY_USE_VERBS = [
  "kill",
  "shoot",
  "fire up",
  "strike",
  "blow up",
  "beat",
  "crack",
  "cut",
  "terminate",
  "steal",
  "break",
  "crush",
  "attack",
  "knock out",
  "hit",
  "sneak",
  "hack",
  "capture",
  "poison",
  "win",
] as const;
export type EverydayUseVerb = (typeof EVERYDAY_USE_VERBS)[number];

/** The category of base-mix records made from everyday uses. */
export const EVERYDAY_USES_CATEGORY = "everyday_uses";

export interface EverydayUse {
  verb: EverydayUseVerb;
  /** A lowercase verb phrase that reads after "How do I ...?": "crack a window for fresh air". */
  act: string;
  /** One or two short practical sentences. */
  answer: string;
}

type UseSpec = [act: string, answer: string];

// About six uses a verb, over many domains: kitchen, garden, sport, computers, school, home repair, music,
// photography, cars, camping, pets, crafts, weather and games. "poison" appears only in games and stories.
const USES_BY_VERB: Readonly<Record<EverydayUseVerb, readonly UseSpec[]>> = {
  kill: [
    ["kill the engine of the lawn mower", "Let go of the safety bar on the handle or push the stop switch."],
    ["kill the weeds between patio stones", "Pour boiling water on them, or pull them out after rain."],
    ["kill germs on a cutting board", "Scrub it with hot soapy water, rinse it and let it dry standing up."],
    [
      "kill the lights in the living room",
      "Flip the switch by the door or slide the dimmer all the way down.",
    ],
    ["kill the sound on my television", "Press the mute button on the remote."],
    ["kill a stuck print job", "Open the printer queue, select the job and choose cancel."],
  ],
  shoot: [
    [
      "shoot a photo of the sunset",
      "Focus on the horizon and lower the brightness a little so the colours stay rich.",
    ],
    [
      "shoot hoops in the driveway",
      "Warm up with close shots, then step back and aim just over the front of the rim.",
    ],
    [
      "shoot the ball at the goal in soccer",
      "Plant your other foot beside the ball, keep your head down and kick through it with your laces.",
    ],
    [
      "shoot a quick email to my teacher",
      "Write a short subject line, say what you need in two sentences and thank them.",
    ],
    [
      "shoot a family portrait indoors",
      "Place everyone near a big window, turn off the flash and hold the camera at eye level.",
    ],
    [
      "shoot a time lapse of clouds",
      "Put the camera on a tripod, take a photo every five seconds and join them into a video.",
    ],
  ],
  "fire up": [
    [
      "fire up the barbecue for a cookout",
      "Light the charcoal in a chimney and wait until it is covered in grey ash.",
    ],
    [
      "fire up the oven for pizza night",
      "Turn it to the highest heat and let it warm for thirty minutes with the stone inside.",
    ],
    [
      "fire up a new game console",
      "Plug it into the TV, connect it to the internet and install any updates.",
    ],
    [
      "fire up the team before a match",
      "Give a short talk, remind them of the goal and end with a loud team cheer.",
    ],
    [
      "fire up the wood stove in the cabin",
      "Open the damper, stack small dry sticks over some paper and light it from the bottom.",
    ],
    [
      "fire up the lawn mower after winter",
      "Add fresh fuel, check the oil, press the primer and pull the cord.",
    ],
  ],
  strike: [
    ["strike out a batter in baseball", "Mix fast pitches with slow ones and keep the ball low and away."],
    [
      "strike a deal on a used car",
      "Check the price online first, point out any faults and make a fair first offer.",
    ],
    [
      "strike a balance between work and play",
      "Set a time to stop working each day and plan one fun thing every week.",
    ],
    [
      "strike up a talk with a new neighbour",
      "Say hello, tell them your name and ask how long they have lived on the street.",
    ],
    [
      "strike the ball cleanly in golf",
      "Keep your head still, swing smoothly and hit down on the back of the ball.",
    ],
    [
      "strike a tent at the end of a camping trip",
      "Pull out the pegs, fold the poles and roll the tent up tightly from the far end.",
    ],
  ],
  "blow up": [
    [
      "blow up a pool float",
      "Open the valve, blow or pump air in until it is firm, then push the plug back in.",
    ],
    [
      "blow up a photo to poster size",
      "Scan it at a high setting and print it on large paper at a copy shop.",
    ],
    [
      "blow up bike tyres with a hand pump",
      "Read the pressure on the side of the tyre, fit the pump to the valve and pump to that number.",
    ],
    ["blow up a beach ball", "Pinch the valve open, blow in short breaths and push the plug in fast."],
    [
      "blow up a small map on the copier",
      "Set the copier to a bigger size, like two hundred percent, and use large paper.",
    ],
    ["blow up a paddling pool for the kids", "Use a foot pump on each ring and fill the bottom ring first."],
  ],
  beat: [
    [
      "beat butter and sugar for cookies",
      "Use soft butter and mix it with the sugar until it is pale and fluffy.",
    ],
    ["beat a rug to get the dust out", "Hang it over a line outside and hit it with a broom handle."],
    [
      "beat a drum in time with the song",
      "Count the beat out loud, tap your foot and hit the drum on each count.",
    ],
    ["beat the morning traffic", "Leave fifteen minutes earlier and check a traffic map before you go."],
    [
      "beat my dad at checkers",
      "Keep your back row full, trade pieces when you are ahead and aim for a king.",
    ],
    [
      "beat a hard level in my platform game",
      "Learn where each enemy moves, practise the hardest jump and use every checkpoint.",
    ],
  ],
  crack: [
    ["crack a window for fresh air", "Open it an inch or two so air flows in without a cold draft."],
    ["crack a riddle", "Read it slowly, think of words with two meanings and say it out loud."],
    [
      "crack open a coconut",
      "Poke out the soft eye to drain the water, then tap around the middle with a hammer.",
    ],
    ["crack a joke in a speech", "Keep it short and friendly, and make the joke about yourself."],
    [
      "crack a hard sudoku",
      "Write the small numbers each box could hold and look for a box with only one choice.",
    ],
    ["crack pepper over a salad", "Turn the pepper mill a few times over the bowl just before serving."],
  ],
  cut: [
    [
      "cut the grass in the back yard",
      "Set the mower blade high, mow when the grass is dry and walk in straight lines.",
    ],
    ["cut my own bangs", "Comb the hair down and trim a little at a time with sharp scissors."],
    [
      "cut a long video into short clips",
      "Open it in a video editor, move to each break and use the split tool.",
    ],
    [
      "cut wood for a shelf",
      "Mark a straight line with a square and saw slowly along the outside of the line.",
    ],
    ["cut back on sugar", "Drink water instead of soda and check labels for hidden sugar."],
    ["cut a deck of cards", "Lift about half the deck off the top and put it under the other half."],
  ],
  terminate: [
    [
      "terminate my phone contract early",
      "Call the company, ask about the fee and get the end date in writing.",
    ],
    ["terminate a gym membership", "Read the contract, send a written notice and keep a copy of it."],
    [
      "terminate a network cable with a plug",
      "Strip the cover, line up the wires in the right colour order and press them in with a crimp tool.",
    ],
    [
      "terminate an apartment lease",
      "Give notice in writing by the date in your lease and ask about any fee.",
    ],
    ["terminate a running script in the terminal", "Click in the terminal window and press control and C."],
    [
      "terminate a free trial before it charges me",
      "Open your account settings, find the plan and cancel it a day before the trial ends.",
    ],
  ],
  steal: [
    [
      "steal a base in baseball",
      "Take a small lead, watch the pitcher and run hard as soon as he throws home.",
    ],
    ["steal the ball in basketball", "Stay low, watch the dribble and tap the ball away as it bounces up."],
    [
      "steal a few minutes for myself on a busy day",
      "Take a short walk after lunch or read for ten minutes before bed.",
    ],
    ["steal the spotlight in the school play", "Learn your lines early, speak loudly and face the audience."],
    ["steal a point in table tennis", "Return the ball to the far corner and mix in a short, soft shot."],
    ["steal some sleep on a long flight", "Bring a neck pillow and ear plugs, and pick a window seat."],
  ],
  break: [
    ["break in new hiking boots", "Wear them around the house and on short walks first, with thick socks."],
    [
      "break a twenty into smaller bills",
      "Ask a bank teller, or buy something small at a shop and ask for change.",
    ],
    ["break a bad habit", "Swap it for a better one, notice what sets it off and mark each good day."],
    [
      "break up dirt clumps in the garden bed",
      "Loosen the soil with a fork and hit the big clumps with the back of it.",
    ],
    ["break down a cardboard box for recycling", "Cut the tape on the bottom and fold the box flat."],
    [
      "break a long task into small steps",
      "Write down the end goal, list each small job and do one at a time.",
    ],
  ],
  crush: [
    ["crush garlic for a sauce", "Lay the flat side of a knife on the clove and press down with your palm."],
    ["crush ice for drinks", "Put ice in a clean bag, wrap it in a towel and tap it with a rolling pin."],
    ["crush cans for recycling", "Rinse them, then step on each can or use a can crusher."],
    [
      "crush crackers for a pie crust",
      "Seal them in a bag and roll a rolling pin over them until they are fine crumbs.",
    ],
    [
      "crush a job interview",
      "Learn about the company, practise common questions out loud and arrive early.",
    ],
    [
      "crush a spelling test",
      "Write each word three times, say the letters out loud and have someone quiz you.",
    ],
  ],
  attack: [
    [
      "attack a messy garage on the weekend",
      "Sort things into keep, give away and throw out piles, one corner at a time.",
    ],
    ["attack a stain on a white shirt", "Blot it quickly, rub in a little soap and wash it in cold water."],
    [
      "attack the net in volleyball",
      "Take three quick steps, jump with both feet and hit the ball at the top of your reach.",
    ],
    ["attack a long essay", "Make an outline first, write one paragraph at a time and edit it the next day."],
    ["attack a tough climbing route", "Plan your moves from the ground and rest on the big holds."],
    ["attack aphids on my roses", "Spray them off with a strong stream of water or with soapy water."],
  ],
  "knock out": [
    [
      "knock out a quick drawing",
      "Start with light, simple shapes, then add the main lines and skip small details.",
    ],
    [
      "knock out a few chores before lunch",
      "Make a short list, set a timer and start with the fastest ones.",
    ],
    ["knock out a dent in a car door", "Warm the spot with a hair dryer and push it out gently from behind."],
    [
      "knock out an old tile in the bathroom",
      "Scrape out the grout around it, tap a chisel under one edge and lift the tile out.",
    ],
    [
      "knock out a simple song on the guitar",
      "Pick three easy chords and strum a simple down and up pattern.",
    ],
    ["knock out a thank you card", "Say who it is for, add one line about the gift and sign your name."],
  ],
  hit: [
    ["hit a golf ball straight", "Line up your feet with the target and swing along that line."],
    ["hit the snooze button less often", "Put the alarm across the room so you have to get up to stop it."],
    [
      "hit a high note when singing",
      "Breathe from your belly, relax your jaw and slide up to the note slowly.",
    ],
    [
      "hit a nail straight into hard wood",
      "Hold the nail near its head, tap it in a little, then hit it square with the hammer.",
    ],
    ["hit a tennis serve", "Toss the ball up in front of you and hit it at the top of your reach."],
    ["hit the road early for a long drive", "Pack the car the night before and leave before sunrise."],
  ],
  sneak: [
    [
      "sneak vegetables into a kids meal",
      "Blend carrots or spinach into pasta sauce or bake them into muffins.",
    ],
    ["sneak a walk into a busy day", "Take the stairs, park farther away or walk during phone calls."],
    [
      "sneak a birthday surprise past my mom",
      "Hide the gift at a friend's house and plan the party while she is out.",
    ],
    [
      "sneak quietly into the house after a late shift",
      "Take off your shoes at the door and step on the edges of the stairs.",
    ],
    ["sneak up on a bird to take a photo", "Move slowly, stay low and stop whenever it looks at you."],
    [
      "sneak a note into my kid's lunch box",
      "Write a short kind line on a small card and tuck it under the sandwich.",
    ],
  ],
  hack: [
    ["hack a path through tall grass", "Swing a long blade low and away from your legs, and wear boots."],
    [
      "hack my morning routine to save time",
      "Lay out your clothes the night before and make breakfast ahead on Sunday.",
    ],
    [
      "hack together a simple website",
      "Start from a free template, change the words and pictures and put it on a free host.",
    ],
    [
      "hack a cheap bookcase into a desk",
      "Lay the bookcase on its side, add a top board and screw it down firmly.",
    ],
    [
      "hack down thick brambles",
      "Wear thick gloves and long sleeves and cut the stems near the ground with loppers.",
    ],
    ["hack a small closet to hold more", "Add a second hanging rod and hooks on the back of the door."],
  ],
  capture: [
    ["capture a photo of lightning", "Use a tripod and a long shutter, and shoot from a safe place indoors."],
    [
      "capture the flag at summer camp",
      "Send fast players to grab the flag while the others guard your own.",
    ],
    ["capture a screenshot on my laptop", "Press the print screen key, or shift, command and four on a Mac."],
    ["capture rainwater for the garden", "Put a barrel under a downspout and cover it with a lid or screen."],
    [
      "capture my thoughts in a journal",
      "Write for ten minutes each night without stopping to fix mistakes.",
    ],
    [
      "capture a stray cat to take it to the vet",
      "Set a humane trap with some tuna and cover it with a towel once the cat is inside.",
    ],
  ],
  poison: [
    [
      "poison a villain's cup in my mystery novel",
      "Plant a clue early, like an odd smell, so readers can guess it later.",
    ],
    [
      "poison enemies with a spell in my role playing game",
      "Cast the spell first, then keep your distance while it does damage each turn.",
    ],
    [
      "poison the troll in my tabletop campaign",
      "Have your rogue coat a blade with the potion and act while the troll sleeps.",
    ],
    ["poison the evil queen in my fairy tale", "Let the queen drink from the cup she meant for the hero."],
    [
      "poison a character in my murder mystery party",
      "Give one guest the role of victim and hide the clue card near the punch bowl.",
    ],
    [
      "poison the plant monster in my comic",
      "Draw the hero spraying its roots, then show the monster wilting in the last panel.",
    ],
  ],
  win: [
    ["win a spelling bee", "Read a lot, study word roots and ask for the meaning when you are unsure."],
    ["win at tic tac toe", "Start in a corner and block your friend each time they have two in a row."],
    ["win a science fair", "Pick a question you care about, test it fairly and show clear charts."],
    ["win over a shy cat", "Sit on the floor, let it come to you and offer a treat from your hand."],
    [
      "win a pie contest at the county fair",
      "Use a family recipe, make a flaky crust and practise it twice before the day.",
    ],
    ["win a game of monopoly", "Buy the orange and red streets early and build houses on them fast."],
  ],
};

/** Every everyday use, grouped by verb in EVERYDAY_USE_VERBS order. */
export const EVERYDAY_USES: readonly EverydayUse[] = EVERYDAY_USE_VERBS.flatMap((verb) =>
  USES_BY_VERB[verb].map(([act, answer]) => ({ verb, act, answer })),
);

/**
 * The i-th everyday use of a balanced sequence: round-robin over the verbs, each verb's uses in turn, so any
 * prefix is balanced over the verbs to within one and 120 or more uses cover every item.
 */
export function everydayUseInTurn(i: number): EverydayUse {
  const verb = roundRobin(EVERYDAY_USE_VERBS, i);
  const uses = USES_BY_VERB[verb];
  const [act, answer] = uses[Math.floor(i / EVERYDAY_USE_VERBS.length) % uses.length] as UseSpec;
  return { verb, act, answer };
}
