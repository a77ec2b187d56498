/// Numeric kernels over raw Float pointers, in llm.c's shape: one file per layer kind, each
/// forward next to its backward. Shapes: N rows of width C unless noted. Backward kernels
/// ACCUMULATE (+=) into the gradients of their inputs and parameters unless they say they
/// overwrite, so callers zero gradients once per step. No kernel lets the number of worker threads
/// change its arithmetic (see `Parallel`).
///
/// Files: FastMath (exp, tanh, log-sum-exp), LayerNorm, Linear (Conv1D-layout linear layer, fused
/// residual variant), Activation (GELU), Softmax (the causal softmax row), Attention (causal
/// multi-head attention), CrossEntropy (weighted), AdamW (optimiser step), GradientNorm (global
/// norm and clipping); BLAS and Parallel hold the matrix products and the worker threads.
public enum Kernels {}
