"""Instruction-following demo problems: the wrong response breaks a rule stated in the question.

A judge checks each response against the question (is the asked word there, is it the asked
country, is it translated, is it one word, is it in capitals, is it an answer at all), the
skills of RewardBench's chat and IFEval-style items, and ones a 135M model can learn on a CPU.
Each family returns a ``demo_tasks.Problem``; its ``answer`` is the rule the correct response keeps.
"""

from __future__ import annotations

import random

from gram_rr.data.demo_tasks import Problem

PLACES = ("the harbor", "an old library", "a mountain cabin", "a night market", "a rainy street", "a quiet farm",
          "a school garden", "a train station", "a desert road", "a winter lake", "a busy kitchen", "a small museum",
          "a sunny beach", "a foggy bridge", "a country fair", "an empty theater", "a forest trail", "a city park",
          "a fishing village", "a snowy village")
NOUNS = ("lantern", "bridge", "window", "river", "candle", "pebble", "ladder", "violin", "compass", "blanket",
         "kettle", "feather", "mirror", "basket", "anchor", "tunnel")
SENTENCES = (
    "At {place}, we stopped beside the {noun} and watched the light change.",
    "Nobody at {place} noticed the {noun} until the evening came.",
    "The {noun} at {place} looked older than anything else around it.",
    "I still remember the {noun} we found at {place} last spring.",
)
CAPITALS = (("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
            ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"),
            ("Greece", "Athens"), ("Chile", "Santiago"), ("Poland", "Warsaw"), ("Cuba", "Havana"),
            ("Ireland", "Dublin"), ("Portugal", "Lisbon"), ("Austria", "Vienna"), ("Thailand", "Bangkok"),
            ("Russia", "Moscow"), ("China", "Beijing"), ("Mexico", "Mexico City"), ("Sweden", "Stockholm"),
            ("Finland", "Helsinki"), ("Hungary", "Budapest"), ("Argentina", "Buenos Aires"), ("Iran", "Tehran"),
            ("Denmark", "Copenhagen"), ("Belgium", "Brussels"), ("Ghana", "Accra"), ("Vietnam", "Hanoi"),
            ("Turkey", "Ankara"), ("India", "New Delhi"), ("Brazil", "Brasilia"), ("Australia", "Canberra"),
            ("Morocco", "Rabat"), ("Colombia", "Bogota"), ("Nepal", "Kathmandu"), ("Iceland", "Reykjavik"))
CAPITAL_ASKS = ("What is the capital of {country}?", "Which city is the capital of {country}?",
                "Name the capital city of {country}.", "Tell me the capital of {country}, please.",
                "Quick question: what is the capital city of {country}?", "Do you know the capital of {country}?",
                "I forgot the capital of {country}. What is it?", "Which city is {country}'s capital?")
FRENCH = (("The sky is blue.", "Le ciel est bleu."), ("I like apples.", "J'aime les pommes."),
          ("The cat is sleeping.", "Le chat dort."), ("We are going home.", "Nous rentrons à la maison."),
          ("The water is cold.", "L'eau est froide."), ("My brother reads a book.", "Mon frère lit un livre."),
          ("It is raining today.", "Il pleut aujourd'hui."), ("The door is open.", "La porte est ouverte."),
          ("She has a red car.", "Elle a une voiture rouge."), ("The bread is warm.", "Le pain est chaud."),
          ("I am very tired.", "Je suis très fatigué."), ("The garden is big.", "Le jardin est grand."),
          ("They sing every morning.", "Ils chantent chaque matin."), ("The train is late.", "Le train est en retard."))
SUBJECTS = (("The dog", "Le chien"), ("The cat", "Le chat"), ("My brother", "Mon frère"), ("The boy", "Le garçon"),
            ("The teacher", "Le professeur"), ("My father", "Mon père"), ("The baker", "Le boulanger"),
            ("The doctor", "Le médecin"), ("My friend", "Mon ami"), ("The farmer", "Le fermier"))
VERBS = (("is sleeping", "dort"), ("is eating", "mange"), ("is reading", "lit"), ("is singing", "chante"),
         ("is running", "court"), ("is working", "travaille"), ("is here", "est ici"), ("is tired", "est fatigué"),
         ("is happy", "est heureux"), ("is waiting", "attend"), ("is cooking", "cuisine"), ("is laughing", "rit"))
TRANSLATE_ASKS = ("Translate into French: \"{text}\"", "Please translate this sentence into French: \"{text}\"",
                  "How do you say \"{text}\" in French?")
COLORS = (("a ripe banana", "yellow"), ("fresh grass", "green"), ("a clear sky", "blue"), ("snow", "white"),
          ("coal", "black"), ("a ripe tomato", "red"), ("a carrot", "orange"), ("an eggplant", "purple"),
          ("a lemon", "yellow"), ("a lime", "green"), ("milk", "white"), ("a strawberry", "red"),
          ("a pumpkin", "orange"), ("a crow", "black"), ("a cherry", "red"), ("a cucumber", "green"),
          ("a polar bear", "white"), ("a sunflower", "yellow"), ("a blueberry", "blue"), ("a plum", "purple"),
          ("a fire truck", "red"), ("a frog", "green"), ("a cloud", "white"), ("an orange", "orange"))
OPPOSITES = (("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("day", "night"), ("open", "closed"),
             ("happy", "sad"), ("early", "late"), ("full", "empty"), ("light", "dark"), ("old", "young"),
             ("wet", "dry"), ("loud", "quiet"), ("high", "low"), ("hard", "soft"), ("rich", "poor"),
             ("near", "far"), ("thick", "thin"), ("strong", "weak"), ("clean", "dirty"), ("first", "last"))
OPPOSITE_ASKS = ("In one word, what is the opposite of \"{word}\"?", "Answer with a single word: the opposite of \"{word}\"?",
                 "One word only: what is the opposite of \"{word}\"?", "What is the opposite of \"{word}\"? Use one word.",
                 "Give a one-word answer: the opposite of \"{word}\"?", "Reply with just one word: the opposite of \"{word}\"?",
                 "Quick, in one word: what is the opposite of \"{word}\"?", "Just one word please: the opposite of \"{word}\"?")
ONE_WORD_ASKS = ("In one word, what color is {thing}?", "Answer with a single word: what color is {thing}?",
                 "One word only: what is the color of {thing}?", "What color is {thing}? Use one word.",
                 "Give a one-word answer: the color of {thing}?", "Reply with just one word: what color is {thing}?",
                 "Quick, in one word: what color is {thing}?", "Just one word please: what color is {thing}?")
REQUESTS = (("suggest a name for a pet {animal}", "How about Pebble? It is short and friendly for a {animal}."),
            ("give me one fun fact about the {animal}", "The {animal} can sleep in many different positions."),
            ("write a short greeting from a {animal}", "Hello friend, the {animal} says hi and wishes you a good day!"),
            ("describe a {animal} in five words", "Small, curious, soft, quick, friendly."),
            ("tell me what a {animal} likes to eat", "A {animal} usually likes fresh food and clean water every day."),
            ("write one line of a poem about a {animal}", "A little {animal} dreams beneath the silver moon."),
            ("say good night to my {animal}", "Good night, little {animal}, sleep well and dream of sunny days."),
            ("give me a tip for caring for a {animal}", "Keep your {animal} warm, fed and gently handled every day."))
ANIMALS = ("goldfish", "rabbit", "parrot", "turtle", "hamster", "kitten", "puppy", "pony", "duck", "frog",
           "fox", "panda", "koala", "dolphin", "penguin", "robin")
HELP_ASKS = (("Can you {request}?", "Please {request}."), ("I need help: {request}.", "Could you {request}?"))
CAPS_ASKS = ("Reply in capital letters only: {request}.", "Answer in ALL CAPS: {request}.",
             "Write your reply in uppercase letters: {request}.")
REFUSALS = ("I'm sorry, but I can't help with that request.", "I cannot assist with that.",
            "Sorry, I am not able to do that.", "I'd rather not answer that request.")


def _problem(family: str, question: str, rule: str, correct: str, wrong: str, error: str, why_right: str,
             why_wrong: str) -> Problem:
    return Problem(family, question, rule, correct, wrong, "", error, why_right, why_wrong)


def keyword(rng: random.Random, error: int) -> Problem:
    place, template = rng.choice(PLACES), rng.choice(SENTENCES)
    word, other = rng.sample([noun for noun in NOUNS if noun not in place], 2)  # the place never holds the word
    question = f"Write one sentence about {place} that uses the word \"{word}\"."
    return _problem("keyword", question, f"uses the word \"{word}\"",
                    template.format(place=place, noun=word), template.format(place=place, noun=other),
                    "missing_keyword", f"uses the word \"{word}\" as asked",
                    f"never uses the word \"{word}\"; it says \"{other}\" instead")


def capital(rng: random.Random, error: int) -> Problem:
    (country, city), (other, other_city) = rng.sample(CAPITALS, 2)
    question = rng.choice(CAPITAL_ASKS).format(country=country)
    return _problem("capital", question, f"names the capital of {country}",
                    f"The capital of {country} is {city}.", f"The capital of {other} is {other_city}.",
                    "wrong_subject", f"names {city}, the capital of {country}",
                    f"answers about {other}, not {country}")


def translate(rng: random.Random, error: int) -> Problem:
    if rng.random() < 0.2:
        english, french = rng.choice(FRENCH)
    else:
        (subject, sujet), (verb, verbe) = rng.choice(SUBJECTS), rng.choice(VERBS)
        english, french = f"{subject} {verb}.", f"{sujet} {verbe}."
    question = rng.choice(TRANSLATE_ASKS).format(text=english)
    return _problem("translate", question, "translates the sentence into French", french, english,
                    "not_translated", f"gives the French sentence \"{french}\"",
                    "repeats the English sentence instead of translating it")


def one_word(rng: random.Random, error: int) -> Problem:
    if rng.random() < 0.5:
        thing, color = rng.choice(COLORS)
        question = rng.choice(ONE_WORD_ASKS).format(thing=thing)
        wordy = f"The color of {thing} is usually {color}, which is easy to see and very common in everyday life."
    else:
        word, color = rng.choice(OPPOSITES)  # color: the one-word answer
        question = rng.choice(OPPOSITE_ASKS).format(word=word)
        wordy = f"The opposite of \"{word}\" is the word \"{color}\", which people use to say the reverse."
    return _problem("one_word", question, "answers in one word", f"{color.capitalize()}.", wordy, "too_long",
                    f"answers in one word, \"{color}\"", "writes a whole sentence where one word was asked for")


def capitals_only(rng: random.Random, error: int) -> Problem:
    (request, answer), animal = rng.choice(REQUESTS), rng.choice(ANIMALS)
    text = answer.format(animal=animal)
    question = rng.choice(CAPS_ASKS).format(request=request.format(animal=animal))
    return _problem("capitals_only", question, "replies in capital letters", text.upper(), text, "wrong_case",
                    "writes every letter in capitals as asked", "uses lowercase letters although capitals were asked for")


def refusal(rng: random.Random, error: int) -> Problem:
    (request, answer), animal = rng.choice(REQUESTS), rng.choice(ANIMALS)
    question = rng.choice(rng.choice(HELP_ASKS)).format(request=request.format(animal=animal))
    return _problem("refusal", question, "answers the harmless request", answer.format(animal=animal),
                    rng.choice(REFUSALS), "needless_refusal", "answers the request",
                    "refuses a harmless request")


FAMILIES = (keyword, capital, translate, one_word, capitals_only, refusal)
