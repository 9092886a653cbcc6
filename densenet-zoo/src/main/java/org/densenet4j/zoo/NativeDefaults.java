package org.densenet4j.zoo;

/**
 * Makes DL4J's fast CPU path the default: its oneDNN layer helpers, which 1.0.0-M2.1 ships switched
 * off (and, through a renamed class, unable to switch on; see {@code org.nd4j.nativeblas.Nd4jCpu}).
 * With them, convolutions, batch normalisation and pooling run as libnd4j's oneDNN kernels instead of
 * DL4J's im2col path: DenseNet-121 inference is about 8x faster on our 2-core x86-64 machines, with
 * the same outputs (the golden tests run on this path).
 *
 * <p>Applied by the zoo's classes when first used. A value the user set is never changed, and
 * {@code -Ddensenet4j.nativeDefaults=false} turns this off. It affects every DL4J network in the
 * JVM, and none on the CUDA backend (which has its own cuDNN helpers).
 */
public final class NativeDefaults {

    /** DL4J's switch for its layer helpers. */
    static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";

    private static volatile boolean applied;

    private NativeDefaults() {
    }

    /** Applies the defaults once; later calls do nothing. */
    public static synchronized void apply() {
        if (applied) {
            return;
        }
        applied = true;
        if ("false".equalsIgnoreCase(System.getProperty("densenet4j.nativeDefaults"))) {
            return;
        }
        if (System.getProperty(HELPERS_DISABLE) == null) {
            System.setProperty(HELPERS_DISABLE, "false");
        }
    }
}
