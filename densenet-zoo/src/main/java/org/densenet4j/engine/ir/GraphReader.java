package org.densenet4j.engine.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Reads a DL4J ComputationGraph into the engine's {@link Graph}: one node per vertex, in the
 * graph's topological order. This is the engines' one support table: what it cannot express, or
 * what the {@link Purpose} cannot run, it refuses with an {@link UnsupportedOperationException}
 * naming the vertex and what about it, and saying what to use instead.
 */
public final class GraphReader {

    /** What the graph is read for: the two engines run different sets of layers. */
    public enum Purpose {
        /** Inference with the running statistics ({@code CompiledGraph}). */
        INFERENCE,
        /** Training steps with batch statistics and gradients ({@code CompiledTrainer}). */
        TRAINING
    }

    private final ComputationGraph graph;
    private final ComputationGraphConfiguration conf;
    private final Purpose purpose;
    /** Values that are [N, F] arrays (after global pooling or a dense layer) rather than feature maps. */
    private final Set<String> flat = new HashSet<>();

    private GraphReader(ComputationGraph graph, Purpose purpose) {
        this.graph = graph;
        this.conf = graph.getConfiguration();
        this.purpose = purpose;
    }

    /**
     * {@code graph} (initialised) as nodes, with {@code outputs} (vertex names) as its outputs.
     *
     * @throws UnsupportedOperationException naming the first vertex {@code purpose} cannot run
     * @throws IllegalArgumentException naming an output the graph does not have
     */
    public static Graph read(ComputationGraph graph, Purpose purpose, List<String> outputs) {
        return new GraphReader(graph, purpose).read(outputs);
    }

    private Graph read(List<String> outputs) {
        for (String o : outputs) {
            if (!conf.getVertices().containsKey(o) && !conf.getNetworkInputs().contains(o)) {
                throw new IllegalArgumentException("the graph has no vertex '" + o + "'");
            }
        }
        int inputs = conf.getNetworkInputs().size();
        if (purpose == Purpose.INFERENCE && inputs != 1) {
            throw new UnsupportedOperationException("compiled inference takes graphs with one input, this one has "
                    + inputs);
        }
        if (purpose == Purpose.TRAINING && (inputs != 1 || conf.getNetworkOutputs().size() != 1)) {
            throw new UnsupportedOperationException("compiled training takes graphs with one input and one "
                    + "output, this one has " + inputs + " and " + conf.getNetworkOutputs().size());
        }
        String input = conf.getNetworkInputs().get(0);
        List<Node> nodes = new ArrayList<>();
        for (int index : graph.topologicalSortOrder()) {
            String name = graph.getVertices()[index].getVertexName();
            if (!name.equals(input)) {
                nodes.add(node(name, conf.getVertices().get(name), conf.getVertexInputs().get(name)));
            }
        }
        return new Graph(input, nodes, outputs);
    }

    private Node node(String name, GraphVertex vertex, List<String> inputs) {
        if (vertex instanceof MergeVertex) {
            for (String i : inputs) {
                requireMaps(name, i);
            }
            return new Node.Concat(name, inputs);
        }
        if (vertex instanceof ElementWiseVertex e) {
            return add(name, e, inputs);
        }
        if (!(vertex instanceof LayerVertex lv) || inputs.size() != 1) {
            throw unsupported(name, vertex.getClass().getSimpleName());
        }
        if (lv.getPreProcessor() != null) {
            throw unsupported(name, "input preprocessor " + lv.getPreProcessor().getClass().getSimpleName());
        }
        List<String> in = List.of(inputs.get(0));
        Layer layer = lv.getLayerConf().getLayer();
        if (purpose == Purpose.TRAINING) {
            if (flat.contains(in.get(0)) && !(layer instanceof OutputLayer)) {
                throw unsupported(name, "a layer between the global pooling and the output layer");
            }
            if (layer.getIDropout() != null) {
                throw unsupported(name, "dropout (its random masks are DL4J's)");
            }
        }
        if (layer instanceof DropoutLayer
                || layer instanceof ActivationLayer a && a.getActivationFn() instanceof ActivationIdentity) {
            passFlatness(name, in.get(0));
            return new Node.Identity(name, in);
        }
        if (layer instanceof ActivationLayer a && new ActivationReLU().equals(a.getActivationFn())) {
            requireMaps(name, in.get(0));
            return new Node.Relu(name, in);
        }
        if (layer.getClass() == ConvolutionLayer.class) {
            requireMaps(name, in.get(0));
            return conv(name, in, (ConvolutionLayer) layer);
        }
        if (layer instanceof BatchNormalization bn) {
            requireMaps(name, in.get(0));
            if (purpose == Purpose.TRAINING && bn.isLockGammaBeta()) {
                throw unsupported(name, "a batch norm with locked gamma and beta");
            }
            // DL4J 1.0.0-M2.1's BatchNormalization ignores an activation set on it, and so does this.
            return new Node.Norm(name, in, bn.getEps(), bn.getDecay(), bn.isUseLogStd(), bn.isLockGammaBeta(),
                    bn.getGamma(), bn.getBeta(), false);
        }
        if (layer instanceof SubsamplingLayer s && s.getClass() == SubsamplingLayer.class) {
            requireMaps(name, in.get(0));
            if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG
                    || s.getCnn2dDataFormat() != CNN2DFormat.NCHW || s.getDilation()[0] != 1
                    || s.getDilation()[1] != 1 || s.getConvolutionMode() == ConvolutionMode.Causal) {
                throw unsupported(name, s.getPoolingType() + " pooling of this kind (NHWC, dilated or causal)");
            }
            return new Node.Pool(name, in, s.getPoolingType() == PoolingType.MAX, s.isAvgPoolIncludePadInDivisor(),
                    s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode());
        }
        if (layer instanceof GlobalPoolingLayer gp) {
            requireMaps(name, in.get(0));
            int[] dims = gp.getPoolingDimensions();
            if (gp.getPoolingType() != PoolingType.MAX && gp.getPoolingType() != PoolingType.AVG
                    || !gp.isCollapseDimensions() || dims != null && !Arrays.equals(dims, new int[] {2, 3})) {
                throw unsupported(name, "global pooling other than max or average over height and width");
            }
            flat.add(name);
            return new Node.GlobalPool(name, in, gp.getPoolingType() == PoolingType.MAX);
        }
        if (layer instanceof DenseLayer || layer.getClass() == OutputLayer.class) {
            return dense(name, in, (BaseLayer) layer);
        }
        throw unsupported(name, layer.getClass().getSimpleName());
    }

    /** An elementwise vertex: the sum of feature maps (a residual connection); its other operations are refused. */
    private Node add(String name, ElementWiseVertex vertex, List<String> inputs) {
        if (vertex.getOp() != ElementWiseVertex.Op.Add || inputs.size() < 2) {
            throw unsupported(name, "ElementWiseVertex " + vertex.getOp() + " of " + inputs.size()
                    + " inputs; only Add of two or more runs compiled");
        }
        for (String i : inputs) {
            requireMaps(name, i);
        }
        return new Node.Add(name, inputs, false);
    }

    private Node conv(String name, List<String> in, ConvolutionLayer c) {
        IActivation activation = c.getActivationFn();
        boolean relu = new ActivationReLU().equals(activation);
        boolean identity = activation instanceof ActivationIdentity;
        boolean nchw = c.getCnn2dDataFormat() == CNN2DFormat.NCHW && c.getDilation()[0] == 1
                && c.getDilation()[1] == 1 && c.getConvolutionMode() != ConvolutionMode.Causal;
        if (purpose == Purpose.TRAINING && (!identity || !nchw)) {
            throw unsupported(name, "a convolution with an activation, NHWC, dilated or causal");
        }
        if (!relu && !identity) {
            throw unsupported(name, "activation " + activation);
        }
        if (!nchw) {
            throw unsupported(name, "an NHWC, dilated or causal convolution");
        }
        long[] w = graph.getLayer(name).getParam("W").shape();
        return new Node.Conv(name, in, w, c.getStride(), c.getPadding(), c.getConvolutionMode(), c.hasBias(), null,
                relu);
    }

    private Node dense(String name, List<String> in, BaseLayer layer) {
        Node.Loss loss = null;
        if (purpose == Purpose.TRAINING) {
            if (!(layer instanceof OutputLayer o) || !flat.contains(in.get(0))
                    || !(o.getActivationFn() instanceof ActivationSoftmax)
                    || o.getLossFn().getClass() != LossMCXENT.class || ((LossMCXENT) o.getLossFn()).getWeights() != null
                    || !o.hasBias()) {
                throw unsupported(name, "an output layer other than softmax with unweighted multi-class "
                        + "cross-entropy after global pooling");
            }
            loss = new Node.Loss(((LossMCXENT) o.getLossFn()).getSoftmaxClipEps());
        } else if (!flat.contains(in.get(0))) {
            throw unsupported(name, "a dense layer on feature maps (only after global pooling)");
        }
        long[] w = graph.getLayer(name).getParam("W").shape(); // [in, out]
        boolean bias = graph.getLayer(name).getParam("b") != null;
        flat.add(name);
        return new Node.Dense(name, in, w[0], w[1], layer.getActivationFn(), bias, loss);
    }

    /** An identity's value is flat when what it passes on is. */
    private void passFlatness(String name, String in) {
        if (flat.contains(in)) {
            flat.add(name);
        }
    }

    private void requireMaps(String name, String in) {
        if (flat.contains(in)) {
            throw unsupported(name, "a feature-map layer after global pooling");
        }
    }

    private UnsupportedOperationException unsupported(String name, String what) {
        return unsupported(name, what, purpose);
    }

    /** The refusal of vertex {@code name} for {@code purpose}, saying what about it and what to use instead. */
    public static UnsupportedOperationException unsupported(String name, String what, Purpose purpose) {
        return new UnsupportedOperationException(purpose == Purpose.INFERENCE
                ? "cannot compile vertex '" + name + "' (" + what + "): compiled inference runs convolution, "
                        + "batch-norm, ReLU, dropout, pooling, merge, elementwise-add and dense/output layers; use the "
                        + "graph's own output() for this one"
                : "cannot compile vertex '" + name + "' for training (" + what
                + "); train this graph with graph.fit()");
    }
}
