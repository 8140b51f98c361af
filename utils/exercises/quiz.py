"""Chapter 08's self-check quiz (Part 6): multiple-choice items graded in the notebook.

    from utils.exercises.quiz import QUIZ
    QUIZ.show()                      # print the questions
    QUIZ.grade(my_answers)           # a dict {1: "b", 2: "d", ...} or a function returning one

Each item has one correct letter and an explanation shown after grading, right or wrong. Items are
written as (right option, wrong options); `quiz_item` shuffles them with a fixed seed per item, so the
letters never change between runs but the right one is not predictable from its place, and the options
are written at similar lengths so it is not predictable from its length either
(tests/test_exercises_ch08.py checks both).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .framework import Incorrect, NotAttempted, call_answer


@dataclass(frozen=True)
class QuizItem:
    question: str
    options: dict
    answer: str
    why: str

    def __post_init__(self):
        if self.answer not in self.options:
            raise ValueError(f"answer {self.answer!r} is not one of the options {sorted(self.options)}")


NOT_YET = "Not attempted yet: fill in your answers above, run the cell, then grade again."


@dataclass
class QuizResult:
    score: int
    total: int
    attempted: int
    lines: list

    def __str__(self) -> str:
        return "\n".join(self.lines + [f"Score: {self.score}/{self.total} ({self.attempted} answered)"])

    __repr__ = __str__


class Quiz:
    def __init__(self, items: list[QuizItem]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def text(self) -> str:
        out = []
        for number, item in enumerate(self.items, 1):
            out.append(f"{number}. {item.question}")
            out += [f"   ({key}) {value}" for key, value in item.options.items()]
        return "\n".join(out)

    def show(self) -> None:
        print(self.text())

    def evaluate(self, answers) -> QuizResult:
        """Grade without printing. `answers`: dict {number: letter} or a function returning one.

        A stub (the exercise notebook's `my_answers` before it is filled in) is "not attempted": a result
        with nothing answered, not an error, so a scorecard cell still runs."""
        try:
            answers = call_answer(answers) if callable(answers) else answers
            if answers is None or answers is Ellipsis:
                raise NotAttempted("no answers yet")
        except NotAttempted:
            return QuizResult(0, len(self.items), 0, [NOT_YET])
        if not isinstance(answers, dict):
            raise Incorrect(f"answers must be a dict like {{1: 'b', 2: 'a'}}, got {type(answers).__name__}")
        unknown = [k for k in answers if not (isinstance(k, int) and 1 <= k <= len(self.items))]
        if unknown:
            raise Incorrect(f"question numbers run from 1 to {len(self.items)}; unknown keys: {unknown}")
        score, attempted, lines = 0, 0, []
        for number, item in enumerate(self.items, 1):
            given = answers.get(number)
            given = given.strip().lower() if isinstance(given, str) else given
            if given is None or given == "":
                lines.append(f"{number}. not answered")
                continue
            attempted += 1
            if given == item.answer:
                score += 1
                lines.append(f"{number}. correct — {item.why}")
            else:
                lines.append(f"{number}. you said ({given}), the answer is ({item.answer}) — {item.why}")
        return QuizResult(score, len(self.items), attempted, lines)

    def grade(self, answers) -> QuizResult:
        """Grade and print, item by item, with the explanation."""
        result = self.evaluate(answers)
        print(result)
        return result


SEED = 18  # the shuffles below depend on it: change it and the answer letters change


def quiz_item(number: int, question: str, right: str, wrong: list, why: str) -> QuizItem:
    """A QuizItem whose options are `right` and `wrong` in an order fixed by SEED and `number`."""
    options = [right, *wrong]
    random.Random(SEED * 1000 + number).shuffle(options)
    letters = "abcdefgh"[: len(options)]
    return QuizItem(question, dict(zip(letters, options)), letters[options.index(right)], why)


_ITEMS = [  # (question, right option, wrong options, why)
    ("Which statement about generative and discriminative models is right?",
     "A generative model learns p(x) or p(x|y); a classifier learns p(y|x)",
     ["A generative model learns p(y|x), and a classifier learns p(x)",
      "Generation is recognition run backwards, so one single network can do both",
      "A generative model can never be conditioned on a class label"],
     "recognition maps an image to a label, p(y|x); generation must model the distribution of images."),
    ("How should the families of image generation methods be sorted?",
     "Procedural synthesis vs learned models (VAE, GAN, diffusion...)",
     ["Rule-based, sample-based and GAN-based methods, as three peers",
      "GAN and VAE are rule-based because they follow training rules",
      "Only GANs learn from data; all the other families are procedural"],
     "GANs are one family of learned generative models, not a third category beside 'sample-based'."),
    ("Early in training D rejects every fake with confidence. Which generator loss still gives G a "
     "useful gradient?",
     "minimise -log D(G(z))",
     ["minimise log(1 - D(G(z)))", "maximise log D(x) of real x", "minimise D(G(z)) squared"],
     "with D = sigmoid(l), d/dl log(1 - D) = -D is near 0 when D(G(z)) is near 0; d/dl -log D = "
     "-(1 - D) is near -1 there."),
    ("Your GAN draws only 1s and 7s, all alike, whatever the noise. This is",
     "mode collapse",
     ["posterior collapse", "discriminator overfitting", "vanishing encoder gradients"],
     "G has found a few outputs that fool D and ignores z; remedies: minibatch standard-deviation "
     "features, a Wasserstein loss with gradient penalty, conditioning."),
    ("With the optimal discriminator, the original GAN objective equals, up to a constant,",
     "2 JS(p_data || p_g)",
     ["KL(p_data || p_g)", "the Wasserstein-1 distance", "the VAE's negative ELBO"],
     "V(D*, G) = -log 4 + 2 JS(p_data || p_g)."),
    ("Why does the reparameterisation trick matter in a VAE?",
     "Gradients reach the encoder through the sample",
     ["It is what makes the KL term closed-form", "It removes the need for a prior over the code",
      "It makes the decoder output deterministic"],
     "z = mu + sigma * eps moves the randomness into an input eps, so z is differentiable in mu and "
     "sigma."),
    ("A VAE's KL term goes to about 0 for every input, and its samples ignore z. This is",
     "posterior collapse",
     ["mode collapse", "perfect convergence", "a tanh output layer"],
     "a decoder that can model x alone makes z useless; fixes: KL warm-up, free bits, a weaker "
     "decoder."),
    ("In a beta-VAE with beta > 1, you expect",
     "a code closer to the prior, worse reconstructions",
     ["sharper reconstructions and the very same code", "no change, because beta cancels out",
      "training to turn into a GAN's minimax game"],
     "beta multiplies the KL term, trading reconstruction for a code closer to the factorised prior."),
    ("FID compares",
     "Gaussians fitted to features of real and fake images",
     ["real and generated images, pixel by pixel, in order", "the discriminator's losses at the end of training",
      "a classifier's accuracy on the generated images"],
     "the Frechet distance between the two feature Gaussians; lower is better."),
    ("Model A's FID was computed from 5,000 samples, model B's from 50,000. What can you conclude?",
     "Nothing yet: FID is biased in N, so compare at equal N",
     ["A is better, since its FID needed fewer samples to be low", "B is better: its FID comes from more images",
      "Nothing: FID is only defined for exactly 10,000 samples"],
     "FID is biased upwards, the more so the smaller N; recompute both at the same N (papers use 50,000) "
     "or use KID, which is unbiased."),
    ("A Keras Conv2DTranspose with kernel 4, stride 2 and padding='same' maps 7x7 to",
     "14x14",
     ["16x16", "13x13", "7x7 (the stride only moves the kernel)"],
     "'same' multiplies by the stride; 'valid' would give 7*2 + max(4-2, 0) = 16."),
    ("Keras 3: you compile the discriminator, set discriminator.trainable = False, compile the "
     "combined model, then call discriminator.train_on_batch for the first time. What happens?",
     "D never trains; Keras only warns",
     ["Both networks train, as in Keras 2", "Keras raises an error at that call",
      "G never trains, D trains normally"],
     "D's train function is built at its first call, while D is frozen, so it updates nothing and "
     "warns that the model has no trainable weights; use GradientTape steps or a train_step."),
    ("What trains most leading text-to-image models since about 2022?",
     "Diffusion or flow matching in a latent space",
     ["Plain VAEs sampled directly from their prior", "Rule-based procedural synthesis",
      "Restricted Boltzmann machines, stacked deep"],
     "Stable Diffusion runs diffusion in an autoencoder's latent space; SD3 and FLUX train with flow "
     "matching and transformer backbones (DiT/MMDiT); GAN losses live on in few-step distillation."),
]

QUIZ = Quiz([quiz_item(n, q, right, wrong, why) for n, (q, right, wrong, why) in enumerate(_ITEMS, 1)])
