package org.densenet4j.dl4j;

import java.lang.reflect.Field;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.graph.vertex.impl.MergeVertex;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every private field of DL4J's that the fast path reaches into, in one place: DL4J 1.0.0-M2.1 has
 * no public way to give a layer another helper or a graph another runtime vertex. A field missing
 * in another DL4J version is null here, logged once, and the part of the fast path that needs it
 * stays off (DL4J's own code runs, only slower).
 */
final class Dl4jInternals {

    private static final Logger log = LoggerFactory.getLogger(Dl4jInternals.class);

    /** LayerVertex's runtime layer, which {@link FastReluLayer} takes over. */
    static final Field LAYER_VERTEX_LAYER = field(LayerVertex.class, "layer");
    /** ConvolutionLayer's helper, which {@link OneDnnConvHelper} takes over. */
    static final Field CONV_HELPER = field(ConvolutionLayer.class, "helper");
    /** BatchNormalization's helper, which {@link FastBatchNormHelper} takes over. */
    static final Field BATCH_NORM_HELPER = field(BatchNormalization.class, "helper");
    /** SubsamplingLayer's helper, which {@link FastPath} sets where DL4J 1.0.0-M2.1 leaves none. */
    static final Field SUBSAMPLING_HELPER =
            field(org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer.class, "helper");
    /** ComputationGraph's vertices by name, which must name the same objects as its vertex array. */
    static final Field GRAPH_VERTICES_MAP = field(ComputationGraph.class, "verticesMap");
    /** MergeVertex's record of its inputs' shapes, which its backward pass reads ({@link FastMergeVertex}). */
    static final Field MERGE_SHAPES = field(MergeVertex.class, "forwardPassShapes");
    static final Field MERGE_RANK = field(MergeVertex.class, "fwdPassRank");
    static final Field MERGE_AXIS = field(MergeVertex.class, "mergeAxis");

    private Dl4jInternals() {
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("DL4J's {} has no field '{}' here ({}): the part of DenseNet4J's fast path that needs it stays "
                    + "off and DL4J's own code runs", owner.getName(), name, e.toString());
            return null;
        }
    }
}
