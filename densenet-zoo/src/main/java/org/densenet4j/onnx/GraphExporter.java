package org.densenet4j.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import onnx.Onnx;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
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
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Maps a DL4J ComputationGraph to an ONNX graph, vertex by vertex in the graph's topological order.
 * Every vertex makes the ONNX value of its own name (an operation and its activation make
 * {@code name/op} and then {@code name}); parameters become initializers named
 * {@code vertex.weight}, {@code .bias}, {@code .running_mean} and {@code .running_var}, as
 * PyTorch names them. What has no exact ONNX counterpart is refused, naming the vertex.
 */
final class GraphExporter {

    private static final String MAPS = "the export maps convolution, batch-norm, activation, dropout, "
            + "max/average pooling, zero-padding, global pooling, dense/output layers (frozen or not) and merge, "
            + "element-wise and scale vertices";

    /**
     * The graph's input as exported.
     *
     * @param name     the input's name
     * @param channels its channels
     * @param height   its height, or null when the export leaves it open
     * @param width    its width, or null when the export leaves it open
     * @param typed    an input type of the right channels and some concrete size, to size the other values
     */
    record Input(String name, long channels, Long height, Long width, InputType typed) {
    }

    private final ComputationGraph graph;
    private final ComputationGraphConfiguration conf;
    private final Onnx.GraphProto.Builder out = Onnx.GraphProto.newBuilder();
    /** Rank of every value made so far: 4 for [N, C, H, W] feature maps, 2 for [N, F]. */
    private final Map<String, Integer> ranks = new HashMap<>();

    private GraphExporter(ComputationGraph graph) {
        this.graph = graph;
        this.conf = graph.getConfiguration();
    }

    /**
     * The ONNX graph of {@code graph} (initialised), named {@code name}, reading {@code input}.
     *
     * @throws UnsupportedOperationException naming the first vertex that has no ONNX mapping here
     */
    static Onnx.GraphProto export(ComputationGraph graph, Input input, String name) {
        return new GraphExporter(graph).run(input, name);
    }

    private Onnx.GraphProto run(Input input, String name) {
        out.setName(name);
        out.addInput(Protos.value(input.name(), List.of(OnnxExport.BATCH, input.channels(),
                dim(input.height(), "height"), dim(input.width(), "width"))));
        ranks.put(input.name(), 4);
        for (int index : graph.topologicalSortOrder()) {
            String vertex = graph.getVertices()[index].getVertexName();
            if (!conf.getNetworkInputs().contains(vertex)) {
                vertex(vertex, conf.getVertices().get(vertex), conf.getVertexInputs().get(vertex));
            }
        }
        Map<String, InputType> types = activationTypes(input.typed());
        for (String o : conf.getNetworkOutputs()) {
            if (!ranks.containsKey(o) || o.equals(input.name())) {
                throw refusal(o, "output", "a graph output that is its input");
            }
            out.addOutput(Protos.value(o, outputDims(o, types.get(o), input)));
        }
        return out.build();
    }

    private static Object dim(Long size, String symbol) {
        return size != null ? (Object) size : symbol;
    }

    private Map<String, InputType> activationTypes(InputType in) {
        try {
            return conf.getLayerActivationTypes(false, in);
        } catch (RuntimeException e) {
            return Map.of(); // the shapes stay open; the values are right regardless
        }
    }

    /** The dimensions of output {@code o}: open batch, the channels or features, open or fixed height and width. */
    private List<Object> outputDims(String o, InputType type, Input input) {
        boolean fixed = input.height() != null;
        if (type instanceof InputType.InputTypeFeedForward f && ranks.get(o) == 2) {
            return List.of(OnnxExport.BATCH, f.getSize());
        }
        if (type instanceof InputType.InputTypeConvolutional c && ranks.get(o) == 4) {
            return Arrays.asList(OnnxExport.BATCH, c.getChannels(), fixed ? (Object) c.getHeight() : null,
                    fixed ? (Object) c.getWidth() : null);
        }
        List<Object> open = new ArrayList<>();
        open.add(OnnxExport.BATCH);
        for (int i = 1; i < ranks.get(o); i++) {
            open.add(null);
        }
        return open;
    }

    private void vertex(String name, GraphVertex vertex, List<String> inputs) {
        if (vertex instanceof MergeVertex m) {
            if (m.getMergeAxis() != MergeVertex.DEFAULT_MERGE_DIM) {
                throw refusal(name, "MergeVertex", "concatenation along axis " + m.getMergeAxis()
                        + " (only the channel axis 1 of NCHW maps)");
            }
            int rank = sameRank(name, "MergeVertex", inputs);
            node("Concat", inputs, name, Protos.integer("axis", 1));
            ranks.put(name, rank);
        } else if (vertex instanceof ElementWiseVertex e) {
            elementWise(name, e, inputs);
        } else if (vertex instanceof ScaleVertex s) {
            String factor = name + ".scale";
            out.addInitializer(Protos.floats(factor, new long[0], new float[] {(float) s.getScaleFactor()}));
            node("Mul", List.of(inputs.get(0), factor), name);
            ranks.put(name, ranks.get(inputs.get(0)));
        } else if (vertex instanceof LayerVertex lv) {
            layer(name, lv, inputs);
        } else {
            String type = vertex == null ? "no configuration" : vertex.getClass().getSimpleName();
            throw refusal(name, type, "a vertex kind with no mapping");
        }
    }

    private void elementWise(String name, ElementWiseVertex e, List<String> inputs) {
        String type = "ElementWiseVertex " + e.getOp();
        int rank = sameRank(name, type, inputs);
        switch (e.getOp()) {
            case Add -> node(inputs.size() == 2 ? "Add" : "Sum", inputs, name);
            case Subtract -> {
                if (inputs.size() != 2) {
                    throw refusal(name, type, inputs.size() + " inputs (subtraction takes 2)");
                }
                node("Sub", inputs, name);
            }
            case Product -> {
                String product = inputs.get(0);
                for (int i = 1; i < inputs.size(); i++) {
                    String made = i == inputs.size() - 1 ? name : name + "/mul" + i;
                    node("Mul", List.of(product, inputs.get(i)), made);
                    product = made;
                }
                if (inputs.size() == 1) {
                    node("Identity", inputs, name);
                }
            }
            case Average -> node("Mean", inputs, name);
            case Max -> node("Max", inputs, name);
            default -> throw refusal(name, type, "an element-wise operation with no mapping");
        }
        ranks.put(name, rank);
    }

    private int sameRank(String name, String type, List<String> inputs) {
        int rank = ranks.get(inputs.get(0));
        for (String i : inputs) {
            if (ranks.get(i) != rank) {
                throw refusal(name, type, "inputs of different ranks");
            }
        }
        return rank;
    }

    private void layer(String name, LayerVertex lv, List<String> inputs) {
        Layer layer = unwrap(lv.getLayerConf().getLayer());
        String type = layer.getClass().getSimpleName();
        if (lv.getPreProcessor() != null) {
            throw refusal(name, type, "input preprocessor " + lv.getPreProcessor().getClass().getSimpleName());
        }
        if (inputs.size() != 1) {
            throw refusal(name, type, inputs.size() + " inputs");
        }
        String in = inputs.get(0);
        int rank = ranks.get(in);
        Map<String, INDArray> params = graph.getLayer(name).paramTable();
        if (layer.getClass() == ConvolutionLayer.class) {
            requireRank(name, type, rank, 4);
            conv(name, in, (ConvolutionLayer) layer, params);
        } else if (layer instanceof BatchNormalization bn) {
            if (rank == 4 && bn.getCnn2DFormat() != CNN2DFormat.NCHW) {
                throw refusal(name, type, "NHWC");
            }
            batchNorm(name, in, bn, params);
            ranks.put(name, rank);
        } else if (layer instanceof ActivationLayer a) {
            activation(name, type, in, name, a.getActivationFn(), rank);
            ranks.put(name, rank);
        } else if (layer instanceof DropoutLayer) {
            node("Identity", List.of(in), name); // dropout does nothing at inference
            ranks.put(name, rank);
        } else if (layer.getClass() == SubsamplingLayer.class) {
            requireRank(name, type, rank, 4);
            pool(name, in, (SubsamplingLayer) layer);
        } else if (layer instanceof ZeroPaddingLayer z) {
            requireRank(name, type, rank, 4);
            zeroPadding(name, in, z);
        } else if (layer instanceof GlobalPoolingLayer gp) {
            requireRank(name, type, rank, 4);
            globalPool(name, in, gp);
        } else if (layer.getClass() == DenseLayer.class || layer.getClass() == OutputLayer.class) {
            requireRank(name, type, rank, 2);
            dense(name, type, in, (BaseLayer) layer, params);
        } else {
            throw refusal(name, type, "a layer kind with no mapping");
        }
    }

    /** The layer a frozen layer wraps (a fine-tuned model's, computing what it wraps computes), else {@code layer}. */
    static Layer unwrap(Layer layer) {
        while (layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop) {
            layer = layer instanceof FrozenLayer f ? f.getLayer() : ((FrozenLayerWithBackprop) layer).getUnderlying();
        }
        return layer;
    }

    private void requireRank(String name, String type, int rank, int wanted) {
        if (rank != wanted) {
            throw refusal(name, type, wanted == 4 ? "an input of [N, F] features, not [N, C, H, W] feature maps"
                    : "an input of [N, C, H, W] feature maps, not [N, F] features");
        }
    }

    private void conv(String name, String in, ConvolutionLayer c, Map<String, INDArray> params) {
        String type = "ConvolutionLayer";
        if (c.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
            throw refusal(name, type, "NHWC");
        }
        INDArray w = params.get("W");
        long[] shape = w.shape(); // [out, in, kh, kw]
        List<String> inputs = new ArrayList<>(List.of(in, name + ".weight"));
        out.addInitializer(Protos.floats(name + ".weight", shape, w));
        INDArray b = params.get("b");
        if (b != null) {
            inputs.add(name + ".bias");
            out.addInitializer(Protos.floats(name + ".bias", new long[] {shape[0]}, b));
        }
        List<Onnx.AttributeProto> attributes = new ArrayList<>(List.of(
                Protos.ints("kernel_shape", c.getKernelSize()), Protos.ints("strides", c.getStride()),
                Protos.ints("dilations", c.getDilation()), Protos.integer("group", 1)));
        attributes.add(padding(name, type, c.getConvolutionMode(), c.getPadding()));
        String made = output(name, type, c.getActivationFn(), 4, "conv");
        node("Conv", inputs, made, attributes.toArray(Onnx.AttributeProto[]::new));
        ranks.put(name, 4);
        activation(name, type, made, name, c.getActivationFn(), 4);
    }

    /**
     * DL4J's padding as ONNX's: explicit symmetric pads (Truncate and Strict size the output by
     * floor division, as ONNX does without ceil_mode), or SAME_UPPER for Same (DL4J pads the odd
     * pixel at the bottom and right, as SAME_UPPER does).
     */
    private Onnx.AttributeProto padding(String name, String type, ConvolutionMode mode, int[] pad) {
        return switch (mode) {
            case Same -> Protos.string("auto_pad", "SAME_UPPER");
            case Truncate, Strict -> Protos.ints("pads", pad[0], pad[1], pad[0], pad[1]);
            default -> throw refusal(name, type, "convolution mode " + mode);
        };
    }

    private void batchNorm(String name, String in, BatchNormalization bn, Map<String, INDArray> params) {
        float[] mean = Protos.values(params.get("mean"));
        int channels = mean.length;
        float[] gamma = bn.isLockGammaBeta() ? filled(channels, bn.getGamma()) : Protos.values(params.get("gamma"));
        float[] beta = bn.isLockGammaBeta() ? filled(channels, bn.getBeta()) : Protos.values(params.get("beta"));
        float[] var;
        if (bn.isUseLogStd()) { // DL4J keeps log10 of the standard deviation: var = (10^log10std)^2
            float[] log10Std = Protos.values(params.get("log10stdev"));
            var = new float[channels];
            for (int i = 0; i < channels; i++) {
                var[i] = (float) Math.pow(10, 2.0 * log10Std[i]);
            }
        } else {
            var = Protos.values(params.get("var"));
        }
        long[] dims = {channels};
        out.addInitializer(Protos.floats(name + ".weight", dims, gamma));
        out.addInitializer(Protos.floats(name + ".bias", dims, beta));
        out.addInitializer(Protos.floats(name + ".running_mean", dims, mean));
        out.addInitializer(Protos.floats(name + ".running_var", dims, var));
        // DL4J 1.0.0-M2.1's BatchNormalization ignores an activation set on it, and so does this.
        node("BatchNormalization", List.of(in, name + ".weight", name + ".bias", name + ".running_mean",
                name + ".running_var"), name, Protos.real("epsilon", bn.getEps()));
    }

    private static float[] filled(int n, double value) {
        float[] a = new float[n];
        Arrays.fill(a, (float) value);
        return a;
    }

    private void pool(String name, String in, SubsamplingLayer s) {
        String type = "SubsamplingLayer " + s.getPoolingType();
        if (s.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
            throw refusal(name, type, "NHWC");
        }
        if (s.getDilation()[0] != 1 || s.getDilation()[1] != 1) {
            throw refusal(name, type, "dilated pooling");
        }
        List<Onnx.AttributeProto> attributes = new ArrayList<>(List.of(
                Protos.ints("kernel_shape", s.getKernelSize()), Protos.ints("strides", s.getStride()),
                padding(name, type, s.getConvolutionMode(), s.getPadding())));
        if (s.getPoolingType() == PoolingType.MAX) {
            node("MaxPool", List.of(in), name, attributes.toArray(Onnx.AttributeProto[]::new));
        } else if (s.getPoolingType() == PoolingType.AVG) {
            // What DL4J divides each window's sum by: all its pixels, or only those inside the input.
            attributes.add(Protos.integer("count_include_pad", s.isAvgPoolIncludePadInDivisor() ? 1 : 0));
            node("AveragePool", List.of(in), name, attributes.toArray(Onnx.AttributeProto[]::new));
        } else {
            throw refusal(name, type, s.getPoolingType() + " pooling");
        }
        ranks.put(name, 4);
    }

    private void zeroPadding(String name, String in, ZeroPaddingLayer z) {
        if (z.getDataFormat() != CNN2DFormat.NCHW) {
            throw refusal(name, "ZeroPaddingLayer", "NHWC");
        }
        int[] p = z.getPadding(); // top, bottom, left, right
        String pads = name + ".pads";
        out.addInitializer(Protos.longs(pads, 0, 0, p[0], p[2], 0, 0, p[1], p[3]));
        node("Pad", List.of(in, pads), name, Protos.string("mode", "constant"));
        ranks.put(name, 4);
    }

    private void globalPool(String name, String in, GlobalPoolingLayer gp) {
        String type = "GlobalPoolingLayer " + gp.getPoolingType();
        int[] dims = gp.getPoolingDimensions();
        if (dims != null && !Arrays.equals(dims, new int[] {2, 3})) {
            throw refusal(name, type, "pooling over dimensions " + Arrays.toString(dims));
        }
        String op = switch (gp.getPoolingType()) {
            case AVG -> "GlobalAveragePool";
            case MAX -> "GlobalMaxPool";
            default -> throw refusal(name, type, gp.getPoolingType() + " pooling");
        };
        if (gp.isCollapseDimensions()) { // [N, C, 1, 1] to [N, C], as DL4J gives it
            node(op, List.of(in), name + "/pool");
            node("Flatten", List.of(name + "/pool"), name, Protos.integer("axis", 1));
            ranks.put(name, 2);
        } else {
            node(op, List.of(in), name);
            ranks.put(name, 4);
        }
    }

    private void dense(String name, String type, String in, BaseLayer layer, Map<String, INDArray> params) {
        INDArray w = params.get("W"); // [in, out]
        long[] shape = w.shape();
        // Stored as PyTorch's Linear keeps it, [out, in], and read transposed (transB), as torch.onnx writes it.
        out.addInitializer(Protos.floats(name + ".weight", new long[] {shape[1], shape[0]}, w.transpose()));
        List<String> inputs = new ArrayList<>(List.of(in, name + ".weight"));
        INDArray b = params.get("b");
        if (b != null) {
            inputs.add(name + ".bias");
            out.addInitializer(Protos.floats(name + ".bias", new long[] {shape[1]}, b));
        }
        String made = output(name, type, layer.getActivationFn(), 2, "gemm");
        node("Gemm", inputs, made, Protos.integer("transB", 1));
        ranks.put(name, 2);
        activation(name, type, made, name, layer.getActivationFn(), 2);
    }

    /** The value an operation with activation {@code fn} makes: the vertex's own, or {@code name/op} before it. */
    private String output(String name, String type, IActivation fn, int rank, String op) {
        checkActivation(name, type, fn, rank);
        return fn instanceof ActivationIdentity ? name : name + "/" + op;
    }

    private void checkActivation(String name, String type, IActivation fn, int rank) {
        boolean known = fn instanceof ActivationIdentity || new ActivationReLU().equals(fn)
                || fn instanceof ActivationSigmoid || fn instanceof ActivationTanH || fn instanceof ActivationLReLU
                || fn instanceof ActivationSoftmax && rank == 2;
        if (!known) {
            throw refusal(name, type, "activation " + fn);
        }
    }

    /** {@code fn} from value {@code from} to value {@code to}; nothing for the identity after an operation. */
    private void activation(String name, String type, String from, String to, IActivation fn, int rank) {
        checkActivation(name, type, fn, rank);
        List<String> in = List.of(from);
        if (fn instanceof ActivationIdentity) {
            if (!from.equals(to)) {
                node("Identity", in, to);
            }
        } else if (fn instanceof ActivationReLU) {
            node("Relu", in, to);
        } else if (fn instanceof ActivationSigmoid) {
            node("Sigmoid", in, to);
        } else if (fn instanceof ActivationTanH) {
            node("Tanh", in, to);
        } else if (fn instanceof ActivationLReLU l) {
            node("LeakyRelu", in, to, Protos.real("alpha", l.getAlpha()));
        } else {
            node("Softmax", in, to, Protos.integer("axis", 1));
        }
    }

    private void node(String op, List<String> inputs, String output, Onnx.AttributeProto... attributes) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(output).addOutput(output);
        inputs.forEach(n::addInput);
        for (Onnx.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        out.addNode(n);
    }

    /** The refusal of vertex {@code name} of {@code type}, saying what about it has no ONNX mapping. */
    static UnsupportedOperationException refusal(String name, String type, String what) {
        return new UnsupportedOperationException("cannot export vertex '" + name + "' (" + type + ") to ONNX: "
                + what + " has no mapping; " + MAPS);
    }
}
