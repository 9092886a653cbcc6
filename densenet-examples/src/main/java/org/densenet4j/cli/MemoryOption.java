package org.densenet4j.cli;

import picocli.CommandLine.Option;

/**
 * {@code --memory-efficient}: compiled training steps that keep only what the backward pass cannot cheaply recompute.
 */
final class MemoryOption {

    @Option(names = "--memory-efficient", description = "Training steps that rebuild a dense block's "
            + "concatenations and the batch norms' outputs in the backward pass instead of keeping them: "
            + "the same gradients in far less memory (the compiled engine only).")
    boolean memoryEfficient;
}
