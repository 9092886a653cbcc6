package org.densenet4j.dl4j;

/**
 * Which parts of the {@link FastPath} run: each is on by default and exists to be switched off for
 * a comparison or a workaround. The one place the path's {@code -Ddensenet4j.*} system properties
 * are read is {@link #fromSystemProperties()}; {@link FastPath#install(org.deeplearning4j.nn.graph.ComputationGraph,
 * FastPathOptions)}
 * takes the options explicitly.
 *
 * @param oneDnnConv    {@code oneDnnConv}: {@link OneDnnConvHelper} instead of DL4J's convolution helper
 * @param fastBatchNorm {@code fastBatchNorm}: {@link FastBatchNormHelper} instead of DL4J's batch-norm helper
 * @param oneDnnBatchNorm {@code oneDnnBatchNorm}: its passes in oneDNN (else its Java loops only)
 * @param blockedBatchNorm {@code blockedBatchNorm}: those passes in oneDNN's blocked layout (else on NCHW)
 * @param fastMerge     {@code fastMerge}: {@link FastMergeVertex} instead of DL4J's MergeVertex
 * @param convCache     {@code convCache}: the convolutions' outputs cached for backprop
 *                      ({@code CacheMode.DEVICE} on a graph that caches nothing)
 * @param fastRelu      {@code fastRelu}: {@link FastReluLayer} instead of DL4J's ReLU ActivationLayer
 * @param oneDnnRelu    {@code oneDnnRelu}: that layer's passes in oneDNN (else libnd4j's ops)
 * @param kernelThreads {@code kernelThreads}: threads of the per-channel Java kernels, 0 for
 *                      libnd4j's thread count
 */
public record FastPathOptions(boolean oneDnnConv, boolean fastBatchNorm, boolean oneDnnBatchNorm,
        boolean blockedBatchNorm, boolean fastMerge, boolean convCache, boolean fastRelu, boolean oneDnnRelu,
        int kernelThreads) {

    /** Every part on, the kernels on libnd4j's thread count. */
    public static FastPathOptions defaults() {
        return new FastPathOptions(true, true, true, true, true, true, true, true, 0);
    }

    /**
     * The defaults, with each part switched off by {@code -Ddensenet4j.PART=false} and the kernels'
     * threads set by {@code -Ddensenet4j.kernelThreads=N}.
     */
    public static FastPathOptions fromSystemProperties() {
        return new FastPathOptions(on("oneDnnConv"), on("fastBatchNorm"), on("oneDnnBatchNorm"),
                on("blockedBatchNorm"), on("fastMerge"), on("convCache"), on("fastRelu"), on("oneDnnRelu"),
                positive(System.getProperty("densenet4j.kernelThreads")));
    }

    private static boolean on(String part) {
        return !"false".equalsIgnoreCase(System.getProperty("densenet4j." + part));
    }

    private static int positive(String value) {
        try {
            return value == null ? 0 : Math.max(0, Integer.parseInt(value.trim()));
        } catch (NumberFormatException e) {
            return 0; // not a number: libnd4j's count
        }
    }
}
