"""Code that one chapter uses, beside the shared core in `utils`: `from utils.chapters import latent`.

- `synthesis`: rule-based image synthesis and the procedural cartoon faces (chapter 01, section 2;
  chapter 06 trains on the faces);
- `faces`: the 64x64 face DCGAN, its checkpoints and the real-face loader (chapter 06);
- `download`: checksum-verified, cached downloads, for chapter 06's optional real faces;
- `latent`: latent-space tools and the ipywidgets explorer (chapter 05);
- `conditional`: the class-conditional GAN and `tf.distribute` steps (chapter 09);
- `diffusion`: the noise schedule, the DDPM/DDIM samplers and guidance (chapter 10; `tools/sample.py`).

Chapter modules may import the core (`utils.gan`, ...) and each other; the core never imports them.
"""
