package org.densenet4j.engine;

/**
 * The native memory a compiled training step plans for one input shape, beyond the graph's own
 * parameters, gradients and updater state, by what it holds.
 *
 * @param kept       values kept from the forward pass to the backward one (feature maps, batch
 *                   statistics, ReLU and pooling workspaces, weights in oneDNN's layouts)
 * @param gradients  the feature maps' gradients (buffers reused once a gradient has been read)
 * @param transients short-lived buffers shared by all steps (conversions, gradient shares)
 * @param recomputed the shared buffers of the values a memory-efficient step rebuilds
 * @param scratch    oneDNN's scratch space
 */
public record MemoryPlan(long kept, long gradients, long transients, long recomputed, long scratch) {

    /** All of it: what {@link CompiledTrainer#plannedBytes} says. */
    public long total() {
        return kept + gradients + transients + recomputed + scratch;
    }

    /** One line in MB, for logs and benchmarks. */
    @Override
    public String toString() {
        long mb = 1L << 20;
        return String.format(java.util.Locale.ROOT, "%,d MB: kept %,d, gradients %,d, transients %,d, recomputed %,d, "
                + "scratch %,d", total() / mb, kept / mb, gradients / mb, transients / mb, recomputed / mb,
                scratch / mb);
    }
}
