package org.densenet4j.dl4j;

import java.lang.reflect.Field;
import java.util.Map;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNSubsamplingHelper;

/**
 * Puts a ComputationGraph on DenseNet4J's fast CPU path, for inference and training, in place: the
 * graph stays a standard one, with the same configuration, layers, parameters and outputs.
 *
 * <ul>
 *   <li>{@link OneDnnConvHelper} on every ConvolutionLayer: oneDNN called directly for both passes,
 *       each layer's primitives kept per input shape;</li>
 *   <li>{@link FastBatchNormHelper} on every BatchNormalization layer (oneDNN called directly,
 *       {@link OneDnnBatchNorm}, with Java loops where it cannot run);</li>
 *   <li>DL4J's own oneDNN helper on every SubsamplingLayer;</li>
 *   <li>{@link CacheMode#DEVICE} when the graph caches nothing: with DL4J's default
 *       ({@code NONE}) every ConvolutionLayer that runs a helper computes its forward convolution a
 *       second time in the backward pass; with a cache it keeps the output of the first;</li>
 *   <li>each MergeVertex's runtime vertex replaced by {@link FastMergeVertex}: concatenation along
 *       the channels, and its backward split, as block copies;</li>
 *   <li>the runtime layer of each plain-ReLU ActivationLayer replaced by {@link FastReluLayer}, one
 *       pass each way through oneDNN ({@link OneDnnRelu}).</li>
 * </ul>
 *
 * The helpers go where DL4J's oneDNN helpers can run ({@link NativeDefaults#oneDnnLayerHelpers()}):
 * DL4J 1.0.0-M2.1 means to create its own there but, asking a class it moved, never does.
 * The zoo's {@code init()}, {@code initPretrained()} and model readers call it; call it yourself on
 * a graph made in another way (TransferLearning, {@code ModelSerializer}). For comparisons, each
 * part can be switched off ({@link FastPathOptions}: explicitly, or {@code -Ddensenet4j.PART=false}).
 * The zoo's own graphs are built caching convolution outputs, so {@code convCache=false} only
 * leaves other graphs' cache mode alone.
 */
public final class FastPath {

    private static final Field LAYER_FIELD = Dl4jInternals.LAYER_VERTEX_LAYER;
    private static final Field CONV_HELPER_FIELD = Dl4jInternals.CONV_HELPER;
    private static final Field VERTICES_MAP_FIELD = Dl4jInternals.GRAPH_VERTICES_MAP;

    private FastPath() {
    }

    /**
     * Installs the fast path on {@code graph} (initialised).
     *
     * @return {@code graph}, for chaining
     */
    public static ComputationGraph install(ComputationGraph graph) {
        return install(graph, FastPathOptions.fromSystemProperties());
    }

    /**
     * Installs the parts of the fast path {@code options} leave on.
     *
     * @return {@code graph}, for chaining
     */
    public static ComputationGraph install(ComputationGraph graph, FastPathOptions options) {
        if (options.oneDnnConv()) {
            installConvHelper(graph);
        }
        if (options.fastMerge()) {
            installFastMerge(graph);
        }
        FastBatchNormHelper.install(graph, options);
        installPoolingHelper(graph);
        CacheMode mode = graph.getConfiguration().getCacheMode();
        if (options.convCache() && (mode == null || mode == CacheMode.NONE)) {
            // Both: the configuration opens the cache's workspace, the layers decide to use it.
            graph.getConfiguration().setCacheMode(CacheMode.DEVICE);
            graph.setCacheMode(CacheMode.DEVICE);
        }
        if (options.fastRelu()) {
            installFastRelu(graph, options);
        }
        return graph;
    }

    /** Whether any part of the fast path runs in {@code graph} (its replicas should then run it too). */
    public static boolean runsIn(ComputationGraph graph) {
        if (graph.getLayers() == null) {
            return false;
        }
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof FastReluLayer || layer instanceof ConvolutionLayer conv
                    && conv.getHelper() instanceof OneDnnConvHelper) {
                return true;
            }
        }
        return FastBatchNormHelper.installed(graph)
                || java.util.Arrays.stream(graph.getVertices()).anyMatch(v -> v instanceof FastMergeVertex);
    }

    /**
     * Gives each ConvolutionLayer on DL4J's oneDNN helper, or on none where oneDNN runs, an {@link OneDnnConvHelper}.
     */
    private static void installConvHelper(ComputationGraph graph) {
        if (CONV_HELPER_FIELD == null || graph.getLayers() == null || !OneDnnConvHelper.available()) {
            return;
        }
        boolean oneDnnHere = NativeDefaults.oneDnnLayerHelpers();
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof ConvolutionLayer conv && (conv.getHelper() == null
                    // where DL4J made none, only plain convolutions: its subclasses have their own semantics
                    ? oneDnnHere && layer.getClass() == ConvolutionLayer.class
                    : conv.getHelper().getClass() == MKLDNNConvHelper.class)) {
                try {
                    CONV_HELPER_FIELD.set(conv, new OneDnnConvHelper(graph.getConfiguration().getDataType()));
                } catch (IllegalAccessException e) {
                    return; // cannot happen once setAccessible succeeded; DL4J's helper stays
                }
            }
        }
    }

    /** Gives each SubsamplingLayer without a helper DL4J's oneDNN one, where oneDNN runs. */
    private static void installPoolingHelper(ComputationGraph graph) {
        Field field = Dl4jInternals.SUBSAMPLING_HELPER;
        if (field == null || graph.getLayers() == null || !NativeDefaults.oneDnnLayerHelpers()) {
            return;
        }
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof SubsamplingLayer pool && pool.getHelper() == null && layer.getClass()
                    == SubsamplingLayer.class) {
                try {
                    field.set(pool, new MKLDNNSubsamplingHelper(graph.getConfiguration().getDataType()));
                } catch (IllegalAccessException e) {
                    return; // cannot happen once setAccessible succeeded
                }
            }
        }
    }

    /** Swaps each MergeVertex of {@code graph} for a {@link FastMergeVertex} on the same inputs and outputs. */
    @SuppressWarnings("unchecked")
    private static void installFastMerge(ComputationGraph graph) {
        GraphVertex[] vertices = graph.getVertices();
        if (VERTICES_MAP_FIELD == null || vertices == null) {
            return;
        }
        try {
            Map<String, GraphVertex> byName = (Map<String, GraphVertex>) VERTICES_MAP_FIELD.get(graph);
            for (int i = 0; i < vertices.length; i++) {
                FastMergeVertex fast = FastMergeVertex.replacing(vertices[i]);
                if (fast != null && byName.get(vertices[i].getVertexName()) == vertices[i]) {
                    vertices[i] = fast;
                    byName.put(fast.getVertexName(), fast);
                }
            }
        } catch (IllegalAccessException | ClassCastException e) {
            // cannot happen once setAccessible succeeded; DL4J's vertices stay
        }
    }

    /** Swaps each plain-ReLU ActivationLayer of {@code graph} for a {@link FastReluLayer} on the same configuration. */
    private static void installFastRelu(ComputationGraph graph, FastPathOptions options) {
        Layer[] layers = graph.getLayers();
        if (LAYER_FIELD == null || layers == null || graph.getVertices() == null) {
            return;
        }
        for (GraphVertex vertex : graph.getVertices()) {
            if (!(vertex instanceof LayerVertex lv) || !FastReluLayer.replaces(lv.getLayer())) {
                continue;
            }
            Layer old = lv.getLayer();
            FastReluLayer fast = new FastReluLayer(old.conf(), graph.getConfiguration().getDataType(), options);
            fast.setIndex(old.getIndex());
            fast.setListeners(old.getListeners());
            fast.setCacheMode(graph.getConfiguration().getCacheMode());
            try {
                LAYER_FIELD.set(lv, fast);
            } catch (IllegalAccessException e) {
                return; // cannot happen once setAccessible succeeded
            }
            for (int i = 0; i < layers.length; i++) {
                if (layers[i] == old) {
                    layers[i] = fast;
                }
            }
        }
    }


}
