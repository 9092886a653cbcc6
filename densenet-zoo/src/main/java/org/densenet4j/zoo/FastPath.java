package org.densenet4j.zoo;

import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * Puts a ComputationGraph on DenseNet4J's fast CPU path for training, in place: the graph stays a
 * standard one, with the same layers, parameters and outputs.
 *
 * <ul>
 *   <li>{@link FastBatchNormHelper} on every BatchNormalization layer that runs DL4J's oneDNN helper;</li>
 *   <li>{@link CacheMode#DEVICE} when the graph caches nothing: with DL4J's default
 *       ({@code NONE}) every ConvolutionLayer that runs a helper computes its forward convolution a
 *       second time in the backward pass; with a cache it keeps the output of the first.</li>
 * </ul>
 *
 * The zoo's {@code init()}, {@code initPretrained()} and model readers call it; call it yourself on
 * a graph made in another way (TransferLearning, {@code ModelSerializer}).
 * {@code -Ddensenet4j.convCache=false} leaves the cache mode alone (and the zoo's graphs without
 * one), for comparisons.
 */
public final class FastPath {

    private FastPath() {
    }

    /**
     * Installs the fast path on {@code graph} (initialised).
     *
     * @return {@code graph}, for chaining
     */
    public static ComputationGraph install(ComputationGraph graph) {
        FastBatchNormHelper.install(graph);
        CacheMode mode = graph.getConfiguration().getCacheMode();
        if (convCache() && (mode == null || mode == CacheMode.NONE)) {
            // Both: the configuration opens the cache's workspace, the layers decide to use it.
            graph.getConfiguration().setCacheMode(CacheMode.DEVICE);
            graph.setCacheMode(CacheMode.DEVICE);
        }
        return graph;
    }

    /** The cache mode the zoo's graphs are built with. */
    static CacheMode cacheMode() {
        return convCache() ? CacheMode.DEVICE : CacheMode.NONE;
    }

    private static boolean convCache() {
        return !"false".equalsIgnoreCase(System.getProperty("densenet4j.convCache"));
    }
}
