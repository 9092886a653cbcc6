package org.densenet4j.engine;

import java.util.Locale;
import java.util.Optional;

/**
 * How the compiled engines ({@link CompiledGraph}, {@link CompiledTrainer}) lay out and plan a
 * graph. The defaults are the fast ones; the options exist for comparisons. The one place they are
 * read from system properties is {@link #fromSystemProperties()}; every {@code compile} method has
 * an overload taking them explicitly.
 *
 * @param layout        the feature maps' layout, one of {@code nchw}, {@code nhwc}, {@code nChw8c},
 *                      {@code nChw16c}; empty to let the engine choose (oneDNN's blocked layout
 *                      where every channel count fills whole blocks, else NHWC)
 * @param inPlaceConcat whether a dense block's concatenations are built in place in one buffer
 *                      (inference)
 * @param memoryEfficient whether a training step keeps only what its backward pass cannot cheaply
 *                      recompute (a dense block's concatenations and the batch norms' outputs are
 *                      rebuilt there); the same gradients in less memory
 * @param fusedUpdate   whether a training step applies DL4J's updater as one pass over the flattened
 *                      parameters where it can (SGD, Nesterov momentum, Adam, no-op; L1, L2, weight
 *                      decay), rather than calling DL4J's updater; the same update, faster
 * @param precision     the number format of compiled inference ({@link CompiledGraph}): fp32, or bf16
 *                      where the CPU runs it natively (else fp32); training steps are fp32
 */
public record EngineOptions(Optional<String> layout, boolean inPlaceConcat, boolean memoryEfficient,
                            boolean fusedUpdate, Precision precision) {

    private static final java.util.Set<String> LAYOUTS = java.util.Set.of("nchw", "nhwc", "nChw8c", "nChw16c");

    /** Checks the layout's name. */
    public EngineOptions {
        java.util.Objects.requireNonNull(precision, "precision");
        layout.ifPresent(l -> {
            if (!LAYOUTS.contains(l)) {
                throw new IllegalArgumentException("layout '" + l + "': expected one of " + LAYOUTS);
            }
        });
    }

    /** The engine's own choices. */
    public static EngineOptions defaults() {
        return new EngineOptions(Optional.empty(), true, false, true, Precision.FP32);
    }

    /**
     * The defaults, changed by {@code -Ddensenet4j.compiledLayout=nchw|nhwc|nChw8c|nChw16c} and
     * {@code -Ddensenet4j.inPlaceConcat=false}, {@code -Ddensenet4j.memoryEfficient=true},
     * {@code -Ddensenet4j.fusedUpdate=false} and {@code -Ddensenet4j.precision=fp32|bf16}.
     *
     * @throws IllegalArgumentException naming a property whose value is not one it takes
     */
    public static EngineOptions fromSystemProperties() {
        String layout = System.getProperty("densenet4j.compiledLayout");
        String precision = System.getProperty("densenet4j.precision", "").trim();
        Precision p;
        try {
            p = precision.isEmpty() ? Precision.FP32 : Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-Ddensenet4j.precision: " + e.getMessage(), e);
        }
        return new EngineOptions(Optional.ofNullable(layout).map(String::trim).filter(l -> !l.isEmpty()),
                !isFalse("densenet4j.inPlaceConcat"),
                "true".equals(System.getProperty("densenet4j.memoryEfficient", "").toLowerCase(Locale.ROOT)),
                !isFalse("densenet4j.fusedUpdate"), p);
    }

    private static boolean isFalse(String property) {
        return "false".equals(System.getProperty(property, "").toLowerCase(Locale.ROOT));
    }

    /** These options with the feature maps in {@code layout}. */
    public EngineOptions withLayout(String layout) {
        return new EngineOptions(Optional.of(layout), inPlaceConcat, memoryEfficient, fusedUpdate, precision);
    }

    /** These options with concatenations in place or not. */
    public EngineOptions withInPlaceConcat(boolean inPlace) {
        return new EngineOptions(layout, inPlace, memoryEfficient, fusedUpdate, precision);
    }

    /** These options with memory-efficient training steps or not. */
    public EngineOptions withMemoryEfficient(boolean on) {
        return new EngineOptions(layout, inPlaceConcat, on, fusedUpdate, precision);
    }

    /** These options with the fused parameter update or DL4J's updater. */
    public EngineOptions withFusedUpdate(boolean on) {
        return new EngineOptions(layout, inPlaceConcat, memoryEfficient, on, precision);
    }

    /** These options with compiled inference in {@code precision}. */
    public EngineOptions withPrecision(Precision precision) {
        return new EngineOptions(layout, inPlaceConcat, memoryEfficient, fusedUpdate, precision);
    }
}
