"""Chapter 08's self-check quiz (section 3): multiple-choice items graded in the notebook.

    from utils.exercises.quiz import QUIZ
    QUIZ.show()                      # print the questions
    QUIZ.grade(my_answers)           # a dict {1: "b", 2: "d", ...} or a function returning one

Each item has one correct letter and an explanation shown after grading, right or wrong.
"""

from __future__ import annotations

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


QUIZ = Quiz([
    QuizItem(
        "Which statement about generative vs discriminative models is right?",
        {"a": "A discriminative model learns p(x); a generative one learns p(y|x)",
         "b": "A generative model learns (something that lets you sample from) p(x) or p(x|y); a classifier "
              "learns p(y|x)",
         "c": "Generation and recognition are the same task run backwards, so one network does both",
         "d": "Generative models cannot be conditioned on labels"},
        "b", "recognition maps an image to a label, p(y|x); generation must model the whole distribution of images."),
    QuizItem(
        "How should the 'families' of image generation be sorted?",
        {"a": "rule-based, sample-based, GAN-based (three peers)",
         "b": "GAN and VAE are rule-based because they follow training rules",
         "c": "rule-based/procedural synthesis vs learned (data-driven) generative models; GAN, VAE, "
              "autoregressive, flow and diffusion models are all families of the learned kind",
         "d": "only GANs learn from data"},
        "c", "GANs are one kind of learned generative model, not a third category next to 'learned from samples'."),
    QuizItem(
        "Early in GAN training D rejects every fake with high confidence. Which generator loss still gives "
        "useful gradients?",
        {"a": "minimise log(1 - D(G(z)))", "b": "minimise -log D(G(z)) (non-saturating)",
         "c": "maximise log D(x)", "d": "minimise D(G(z))^2"},
        "b", "log(1 - D) is flat when D(G(z)) is near 0; -log D is steep there."),
    QuizItem(
        "Your GAN draws only 1s and 7s, all very similar, whatever the noise. This is",
        {"a": "overfitting of the discriminator", "b": "posterior collapse", "c": "mode collapse",
         "d": "vanishing gradients in the encoder"},
        "c", "the generator has found a few outputs that fool D and ignores z; remedies: minibatch discrimination, "
             "Wasserstein/gradient-penalty losses, a better-balanced D, conditioning."),
    QuizItem(
        "With the optimal discriminator, the original GAN objective equals (up to a constant)",
        {"a": "KL(p_data || p_g)", "b": "the Wasserstein-1 distance", "c": "2 x JS(p_data || p_g)",
         "d": "the ELBO"},
        "c", "V(D*, G) = -log 4 + 2 JS(p_data || p_g)."),
    QuizItem(
        "Why does the reparameterisation trick matter in a VAE?",
        {"a": "it makes the KL term closed-form", "b": "it lets gradients flow through the sampling of z to the "
         "encoder, because the randomness moves into an input eps ~ N(0, I)",
         "c": "it removes the need for a prior", "d": "it makes the decoder deterministic"},
        "b", "z = mu + sigma * eps is a differentiable function of mu and sigma."),
    QuizItem(
        "The KL term of a VAE goes to ~0 for every input and samples ignore z. This is",
        {"a": "mode collapse", "b": "posterior collapse: a too-powerful decoder explains x without z",
         "c": "a sign that training converged perfectly", "d": "caused by using tanh outputs"},
        "b", "fixes: KL annealing/warm-up, free bits, a weaker decoder."),
    QuizItem(
        "In a beta-VAE with beta > 1, you expect",
        {"a": "sharper reconstructions", "b": "a more factorised (disentangled) but blurrier code, with worse "
         "reconstructions", "c": "no change: beta cancels out", "d": "a GAN"},
        "b", "beta weights the KL term, trading reconstruction for a code closer to the prior."),
    QuizItem(
        "FID compares",
        {"a": "pixels of generated and real images one by one",
         "b": "Gaussians fitted to a network's features of real and generated images (means and covariances)",
         "c": "the discriminator's loss at the end of training", "d": "the classifier's accuracy on fakes"},
        "b", "lower is better; it needs many samples and a fixed feature network to compare numbers."),
    QuizItem(
        "The generator ends in tanh, so the training images must be scaled to",
        {"a": "[0, 255]", "b": "[0, 1]", "c": "[-1, 1]", "d": "zero mean, unit variance per image"},
        "c", "the real and fake images must live in the same range or D tells them apart trivially."),
    QuizItem(
        "A Conv2DTranspose with kernel 4, stride 2, padding='same' maps 7x7 to",
        {"a": "14x14", "b": "16x16", "c": "13x13", "d": "7x7"},
        "a", "'same' multiplies by the stride; 'valid' would give 7*2 + max(4-2, 0) = 16."),
    QuizItem(
        "In Keras 3, you set discriminator.trainable = False, compile a combined model, and call "
        "discriminator.train_on_batch inside your loop. What happens?",
        {"a": "both networks train as in Keras 2", "b": "the discriminator never trains, because trainable is "
         "read when its own train function is built and it is now frozen", "c": "an error is raised",
         "d": "the generator never trains"},
        "b", "Keras 3 does not keep Keras 2's compile-time snapshot; use explicit GradientTape steps or a "
             "Model subclass with train_step."),
    QuizItem(
        "Which model family dominates text-to-image generation since about 2022?",
        {"a": "plain VAEs", "b": "diffusion models (often in a VAE's latent space)", "c": "rule-based synthesis",
         "d": "Boltzmann machines"},
        "b", "Stable Diffusion runs diffusion in the latent space of an autoencoder; GANs remain strong for fast, "
             "single-domain generation."),
])
