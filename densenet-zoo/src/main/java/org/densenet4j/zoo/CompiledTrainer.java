package org.densenet4j.zoo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.nn.conf.stepfunctions.NegativeDefaultStepFunction;
import org.deeplearning4j.nn.conf.stepfunctions.NegativeGradientStepFunction;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Training steps of a ComputationGraph as one fixed sequence of oneDNN primitives: the forward pass
 * with batch statistics, the loss, the backward pass into the graph's own gradient array, then DL4J's
 * own updater and step, exactly what {@code graph.fit(batch)} does with the gradients DL4J computes.
 *
 * <p>Why: in {@code fit()} every layer hands its neighbour an NCHW array, so each convolution and
 * batch norm that runs fastest in oneDNN's blocked layout converts its operands there and back
 * (DenseNet-121 at batch 8: 780 conversions a step, a fifth of oneDNN's time), and each ReLU is a
 * pass of its own each way. Here every feature map stays in one layout from the first convolution to
 * the classifier (the one {@link CompiledGraph} picks: nChw16c or nChw8c when the channel counts fill
 * its blocks, NHWC otherwise), a ReLU that alone reads a batch norm runs as that batch norm's fused
 * ReLU, and the primitives and buffers of each input shape are built once.
 *
 * <p>What stays DL4J's: the parameters and gradients live in the graph's flattened arrays (read and
 * written in place on every step, so {@code setParams}, the updater's state, serialisation and
 * TransferLearning see one model); the updater (any {@code IUpdater}, L1/L2/weight decay, gradient
 * normalisation), the step, the batch-norm running statistics (as DL4J's BatchNormalization updates
 * them, variance or log10 standard deviation), the score (loss plus regularisation), the iteration and
 * epoch counts and the listeners' calls.
 *
 * <p>It runs graphs of one input and one output made of convolutions (no activation, NCHW, undilated,
 * any padding mode but causal), batch norms, ReLU and identity activation layers, max/average pooling,
 * global pooling over height and width, channel merges, dropout layers that drop nothing, and a softmax
 * {@link OutputLayer} with multi-class cross-entropy after the global pooling: the zoo's DenseNets.
 * {@link #compile} names the first vertex it cannot run; {@link #tryCompile} says so with an empty
 * result, and {@code graph.fit()} is then the way to train.
 */
public final class CompiledTrainer {

    private final ComputationGraph graph;
    private final String input;
    private final List<Node> nodes;
    private final OutputNode output;
    /** The layers whose parameters this trainer computes gradients for, by name. */
    private final Map<String, List<String>> paramKeys;
    private final OneDnn.Plans<Plan> plans = new OneDnn.Plans<>(2);
    /** The softmax probabilities of the last batch. */
    private float[] lastOutput;
    /** The updater's view of the gradient array, kept while the graph keeps that array. */
    private DefaultGradient gradient;

    private CompiledTrainer(ComputationGraph graph, String input, List<Node> nodes,
            Map<String, List<String>> paramKeys) {
        this.graph = graph;
        this.input = input;
        this.nodes = nodes;
        this.output = (OutputNode) nodes.get(nodes.size() - 1);
        this.paramKeys = paramKeys;
    }

    /** Whether compiled training can run here: oneDNN's natives loaded (the CPU backend). */
    public static boolean available() {
        return OneDnn.LOADED;
    }

    /**
     * The trainer of {@code graph} (initialised, float).
     *
     * @throws UnsupportedOperationException naming the first vertex or setting it cannot run
     */
    public static CompiledTrainer compile(ComputationGraph graph) {
        if (!available()) {
            throw new UnsupportedOperationException("compiled training needs oneDNN's natives (the CPU backend)");
        }
        return new Compiler(graph).compile();
    }

    /** The trainer of {@code graph}, or empty when it cannot run it (then train with {@code graph.fit()}). */
    public static Optional<CompiledTrainer> tryCompile(ComputationGraph graph) {
        try {
            return Optional.of(compile(graph));
        } catch (UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    /** The graph this trainer updates. */
    public ComputationGraph graph() {
        return graph;
    }

    /**
     * One training step on {@code batch}, as {@code graph.fit(batch)}: gradients, DL4J's updater and
     * step, running statistics, iteration count, listeners. Masks are not supported.
     */
    public synchronized void fit(DataSet batch) {
        if (batch.getFeaturesMaskArray() != null || batch.getLabelsMaskArray() != null) {
            throw new UnsupportedOperationException("compiled training takes no masks");
        }
        INDArray features = batch.getFeatures();
        int examples = (int) features.size(0);
        double score = computeGradientAndScore(features, batch.getLabels());
        Gradient gradient = gradient();
        int iteration = graph.getIterationCount();
        int epoch = graph.getEpochCount();
        Collection<TrainingListener> listeners = graph.getListeners();
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            for (TrainingListener l : listeners) {
                l.onGradientCalculation(graph);
            }
            graph.getUpdater().update(gradient, iteration, epoch, examples, LayerWorkspaceMgr.noWorkspaces());
            graph.params().subi(graph.getFlattenedGradients().reshape(graph.params().shape()));
            for (TrainingListener l : listeners) {
                l.iterationDone(graph, iteration, epoch);
            }
        }
        graph.setScore(score);
        graph.getConfiguration().setIterationCount(iteration + 1);
    }

    /** One epoch over {@code data} (reset first when it can be), as {@code graph.fit(data)}. */
    public void fit(DataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        for (TrainingListener l : graph.getListeners()) {
            l.onEpochStart(graph);
        }
        while (data.hasNext()) {
            fit(data.next());
        }
        for (TrainingListener l : graph.getListeners()) {
            l.onEpochEnd(graph);
        }
        graph.incrementEpochCount();
    }

    /**
     * The gradients of one batch into the graph's gradient array ({@code graph.getFlattenedGradients()},
     * DL4J's convention: summed over the examples; the batch norms' running statistics as DL4J writes
     * them there), and the score as {@code graph.score()} gives it after {@code computeGradientAndScore}
     * (mean loss plus the regularisation terms). Parameters are not changed.
     */
    public synchronized double computeGradientAndScore(INDArray features, INDArray labels) {
        if (features.rank() != 4) {
            throw new IllegalArgumentException("compiled training takes [N, C, H, W] features, got "
                    + java.util.Arrays.toString(features.shape()));
        }
        long[] shape = features.shape();
        if (labels.rank() != 2 || labels.size(0) != shape[0] || labels.size(1) != output.classes) {
            throw new IllegalArgumentException("labels of " + java.util.Arrays.toString(labels.shape())
                    + " for " + shape[0] + " examples of layer '" + output.name + "' (" + output.classes
                    + " classes)");
        }
        Plan plan = plans.get(List.of(shape[0], shape[1], shape[2], shape[3]), () -> new Plan(shape).allocate());
        INDArray x = HostArrays.contiguous(features.dataType() == DataType.FLOAT ? features
                : features.castTo(DataType.FLOAT));
        float[] y = labels.castTo(DataType.FLOAT).dup('c').data().asFloat();
        double loss = plan.run(x, y);
        return loss / shape[0] + graph.calcRegularizationScore(true);
    }

    /**
     * The classifier's softmax output of the last batch ({@code [N, classes]}), as the graph's
     * {@code output()} would have given it before that step's update; null before the first step.
     */
    public synchronized INDArray lastOutput() {
        return lastOutput == null ? null : Nd4j.create(lastOutput, lastOutput.length / output.classes, output.classes);
    }

    /** The step labels of the plan for input {@code shape} ([N, C, H, W]): oneDNN's implementation of each primitive. */
    public synchronized List<String> describe(long... shape) {
        return new Plan(shape).labels;
    }

    /**
     * Plans and allocates the buffers of training steps on inputs of {@code shape} ([N, C, H, W]) now,
     * so that a batch too large for the native memory allowed fails before the first step.
     *
     * @return the bytes allocated ({@link #plannedBytes})
     * @throws NativeMemory.TooLargeException naming the batch, the bytes needed and available, and the remedies
     */
    public synchronized long prepare(long... shape) {
        return plans.get(List.of(shape[0], shape[1], shape[2], shape[3]), () -> new Plan(shape).allocate()).bytes();
    }

    /**
     * The native bytes a training step on inputs of {@code shape} ([N, C, H, W]) allocates for its
     * feature maps, gradients, workspaces and scratch space, beyond the graph's own parameters,
     * gradients and updater state; planned without allocating them.
     */
    public synchronized long plannedBytes(long... shape) {
        return new Plan(shape).bytes();
    }

    /**
     * DL4J's Gradient over the flattened array, one entry per parameter, as the updater expects:
     * views built once, and again only if the graph's gradient array is replaced.
     */
    private DefaultGradient gradient() {
        INDArray flattened = graph.getFlattenedGradients();
        if (gradient != null && gradient.gradient() == flattened) {
            return gradient;
        }
        DefaultGradient g = new DefaultGradient(flattened);
        INDArray flat = flattened.reshape(flattened.length());
        for (Map.Entry<String, List<String>> layer : paramKeys.entrySet()) {
            for (String key : layer.getValue()) {
                INDArray p = graph.getLayer(layer.getKey()).getParam(key);
                long at = offsetBytes(layer.getKey(), key) / Float.BYTES;
                g.gradientForVariable().put(layer.getKey() + "_" + key,
                        flat.get(NDArrayIndex.interval(at, at + p.length())).reshape(p.ordering(), p.shape()));
            }
        }
        gradient = g;
        return g;
    }

    /** A parameter's offset in bytes in the graph's flattened parameter (and gradient) array. */
    private long offsetBytes(String layer, String key) {
        return HostArrays.address(graph.getLayer(layer).getParam(key)) - HostArrays.address(graph.params());
    }

    // ---------------------------------------------------------------------------------------------
    // The graph as nodes: what each vertex computes, read from the configuration.

    private abstract static sealed class Node permits ConvNode, NormNode, ReluNode, PoolNode, GlobalPoolNode,
            ConcatNode, OutputNode {
        final String name;
        final List<String> in;

        Node(String name, List<String> in) {
            this.name = name;
            this.in = in;
        }
    }

    private static final class ConvNode extends Node {
        final ConvolutionLayer conf;

        ConvNode(String name, String in, ConvolutionLayer conf) {
            super(name, List.of(in));
            this.conf = conf;
        }
    }

    private static final class NormNode extends Node {
        final BatchNormalization conf;
        /** Whether the ReLU that alone reads this batch norm runs fused into it. */
        boolean relu;

        NormNode(String name, String in, BatchNormalization conf) {
            super(name, List.of(in));
            this.conf = conf;
        }
    }

    private static final class ReluNode extends Node {
        ReluNode(String name, String in) {
            super(name, List.of(in));
        }
    }

    private static final class PoolNode extends Node {
        final SubsamplingLayer conf;

        PoolNode(String name, String in, SubsamplingLayer conf) {
            super(name, List.of(in));
            this.conf = conf;
        }
    }

    private static final class GlobalPoolNode extends Node {
        final boolean max;

        GlobalPoolNode(String name, String in, boolean max) {
            super(name, List.of(in));
            this.max = max;
        }
    }

    private static final class ConcatNode extends Node {
        ConcatNode(String name, List<String> in) {
            super(name, in);
        }
    }

    private static final class OutputNode extends Node {
        final long classes;
        /** LossMCXENT's clipping of the probabilities in the logarithm. */
        final double clip;

        OutputNode(String name, String in, long classes, double clip) {
            super(name, List.of(in));
            this.classes = classes;
            this.clip = clip;
        }
    }

    /** Reads the configuration into nodes, refusing what the trainer does not run. */
    private static final class Compiler {
        private final ComputationGraph graph;
        private final ComputationGraphConfiguration conf;
        private final Map<String, Integer> consumers = new HashMap<>();
        private final Map<String, String> alias = new HashMap<>();
        private final Map<String, Node> producer = new LinkedHashMap<>();
        private final Map<String, List<String>> paramKeys = new LinkedHashMap<>();
        private boolean pooledGlobally;

        Compiler(ComputationGraph graph) {
            this.graph = graph;
            this.conf = graph.getConfiguration();
            conf.getVertexInputs().values().forEach(ins -> ins.forEach(i -> consumers.merge(i, 1, Integer::sum)));
        }

        CompiledTrainer compile() {
            if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
                throw new UnsupportedOperationException("compiled training takes graphs with one input and one "
                        + "output, this one has " + conf.getNetworkInputs().size() + " and "
                        + conf.getNetworkOutputs().size());
            }
            if (graph.params() == null) {
                throw new UnsupportedOperationException("the graph is not initialised (call init())");
            }
            if (graph.getFlattenedGradients() == null) {
                graph.initGradientsView(); // as fit() does on its first call
            }
            if (graph.params().dataType() != DataType.FLOAT) {
                throw new UnsupportedOperationException("compiled training runs float graphs, this one is "
                        + graph.params().dataType());
            }
            var stepFunction = conf.getDefaultConfiguration().getStepFunction();
            if (stepFunction != null && !(stepFunction instanceof NegativeGradientStepFunction)
                    && !(stepFunction instanceof NegativeDefaultStepFunction)) {
                throw new UnsupportedOperationException("compiled training steps against the gradient, "
                        + "the graph's step function is " + stepFunction.getClass().getSimpleName());
            }
            String input = conf.getNetworkInputs().get(0);
            String out = conf.getNetworkOutputs().get(0);
            for (int index : graph.topologicalSortOrder()) {
                String name = graph.getVertices()[index].getVertexName();
                if (!name.equals(input)) {
                    add(name, conf.getVertices().get(name), conf.getVertexInputs().get(name));
                }
            }
            if (!(producer.get(value(out)) instanceof OutputNode)) {
                throw unsupported(out, "the graph's output is not a softmax output layer");
            }
            List<Node> nodes = new ArrayList<>(producer.values());
            for (Layer layer : graph.getLayers()) {
                String name = layer.conf().getLayer().getLayerName();
                if (layer.numParams() > 0 && !paramKeys.containsKey(name)) {
                    throw unsupported(name, "parameters outside the path to the output");
                }
            }
            Set<String> read = new HashSet<>();
            nodes.forEach(n -> read.addAll(n.in));
            Node last = producer.get(value(out));
            if (read.contains(last.name)) {
                throw unsupported(last.name, "the output layer feeds another layer");
            }
            for (Node n : nodes) {
                if (n != last && !read.contains(n.name)) {
                    throw unsupported(n.name, "its output does not lead to the graph's output");
                }
            }
            return new CompiledTrainer(graph, input, nodes, paramKeys);
        }

        private void add(String name, org.deeplearning4j.nn.conf.graph.GraphVertex vertex, List<String> inputs) {
            if (vertex instanceof MergeVertex) {
                put(new ConcatNode(name, inputs.stream().map(this::value).toList()));
                return;
            }
            if (!(vertex instanceof LayerVertex lv) || inputs.size() != 1) {
                throw unsupported(name, vertex.getClass().getSimpleName());
            }
            if (lv.getPreProcessor() != null) {
                throw unsupported(name, "input preprocessor " + lv.getPreProcessor().getClass().getSimpleName());
            }
            String in = value(inputs.get(0));
            org.deeplearning4j.nn.conf.layers.Layer layer = lv.getLayerConf().getLayer();
            if (pooledGlobally && !(layer instanceof OutputLayer)) {
                throw unsupported(name, "a layer between the global pooling and the output layer");
            }
            if (layer.getIDropout() != null) {
                throw unsupported(name, "dropout (its random masks are DL4J's)");
            }
            if (layer instanceof DropoutLayer || layer instanceof ActivationLayer a
                    && a.getActivationFn() instanceof ActivationIdentity) {
                alias.put(name, in);
            } else if (layer instanceof ActivationLayer a && new ActivationReLU().equals(a.getActivationFn())) {
                if (consumers.getOrDefault(in, 0) == 1 && producer.get(in) instanceof NormNode norm && !norm.relu) {
                    norm.relu = true; // this ReLU alone reads the batch norm: its fused ReLU
                    alias.put(name, in);
                } else {
                    put(new ReluNode(name, in));
                }
            } else if (layer.getClass() == ConvolutionLayer.class) {
                ConvolutionLayer c = (ConvolutionLayer) layer;
                if (!(c.getActivationFn() instanceof ActivationIdentity) || c.getCnn2dDataFormat() != CNN2DFormat.NCHW
                        || c.getDilation()[0] != 1 || c.getDilation()[1] != 1
                        || c.getConvolutionMode() == ConvolutionMode.Causal) {
                    throw unsupported(name, "a convolution with an activation, NHWC, dilated or causal");
                }
                params(name, c.hasBias() ? List.of("W", "b") : List.of("W"));
                put(new ConvNode(name, in, c));
            } else if (layer instanceof BatchNormalization bn) {
                if (bn.isLockGammaBeta()) {
                    throw unsupported(name, "a batch norm with locked gamma and beta");
                }
                params(name, List.of("gamma", "beta", "mean", bn.isUseLogStd() ? "log10stdev" : "var"));
                put(new NormNode(name, in, bn));
            } else if (layer instanceof SubsamplingLayer s && s.getClass() == SubsamplingLayer.class) {
                if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG
                        || s.getCnn2dDataFormat() != CNN2DFormat.NCHW || s.getDilation()[0] != 1
                        || s.getDilation()[1] != 1 || s.getConvolutionMode() == ConvolutionMode.Causal) {
                    throw unsupported(name, s.getPoolingType() + " pooling of this kind (NHWC, dilated or causal)");
                }
                put(new PoolNode(name, in, s));
            } else if (layer instanceof GlobalPoolingLayer gp) {
                int[] dims = gp.getPoolingDimensions();
                if (gp.getPoolingType() != PoolingType.MAX && gp.getPoolingType() != PoolingType.AVG
                        || !gp.isCollapseDimensions() || dims != null && !java.util.Arrays.equals(dims, new int[] {2, 3})) {
                    throw unsupported(name, "global pooling other than max or average over height and width");
                }
                put(new GlobalPoolNode(name, in, gp.getPoolingType() == PoolingType.MAX));
                pooledGlobally = true;
            } else if (layer.getClass() == OutputLayer.class) {
                OutputLayer o = (OutputLayer) layer;
                if (!pooledGlobally || !(o.getActivationFn() instanceof ActivationSoftmax)
                        || o.getLossFn().getClass() != LossMCXENT.class || ((LossMCXENT) o.getLossFn()).getWeights() != null
                        || !o.hasBias()) {
                    throw unsupported(name, "an output layer other than softmax with unweighted multi-class "
                            + "cross-entropy after global pooling");
                }
                params(name, List.of("W", "b"));
                put(new OutputNode(name, in, o.getNOut(), ((LossMCXENT) o.getLossFn()).getSoftmaxClipEps()));
            } else {
                throw unsupported(name, layer.getClass().getSimpleName());
            }
        }

        /** Records the layer's parameter keys, in the order of its parameter table (its slice of the flattened arrays). */
        private void params(String name, List<String> expected) {
            List<String> keys = new ArrayList<>(graph.getLayer(name).paramTable().keySet());
            if (!new HashSet<>(keys).equals(new HashSet<>(expected))) {
                throw unsupported(name, "parameters " + keys);
            }
            for (String k : keys) {
                INDArray p = graph.getLayer(name).getParam(k);
                if (p.dataType() != DataType.FLOAT || k.equals("W") && p.rank() == 4 && !HostArrays.denseRowMajor(p)) {
                    throw unsupported(name, "parameter " + k + " not a dense float array");
                }
            }
            paramKeys.put(name, keys);
        }

        private void put(Node node) {
            producer.put(node.name, node);
        }

        private String value(String vertex) {
            String v = vertex;
            while (alias.containsKey(v)) {
                v = alias.get(v);
            }
            return v;
        }

        private UnsupportedOperationException unsupported(String name, String what) {
            return new UnsupportedOperationException("cannot compile vertex '" + name + "' for training (" + what
                    + "); train this graph with graph.fit()");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // A plan: the primitives and buffers of one input shape.

    /** A value: a feature map (or the pooled features) in the plan's layout, and its gradient. */
    private record Value(memory.desc desc, long[] dims, memory data, memory grad) {
    }

    private record Step(primitive primitive, IntMemoryMap args) {
    }

    /** A user memory bound on every step to an array of the graph (a parameter or gradient slice, the input). */
    private record Bound(memory memory, java.util.function.Supplier<Pointer> address) {
    }

    private final class Plan {
        final List<String> labels = new ArrayList<>();
        private final memory.format_tag layout;
        private final Map<String, Value> values = new HashMap<>();
        private final List<Step> forward = new ArrayList<>();
        private final List<Step> backward = new ArrayList<>();
        private final List<Bound> bound = new ArrayList<>();
        private final List<BytePointer> owned = new ArrayList<>();
        /** Memories of the plan's own buffers, bound when the plan is allocated, with their sizes. */
        private final List<memory> pending = new ArrayList<>();
        private final List<Long> pendingBytes = new ArrayList<>();
        /** Views into a pending memory (a merge's parts), bound to it when it is. */
        private final List<Map.Entry<memory, memory>> pendingViews = new ArrayList<>();
        /** Values whose gradient has been written by a backward step already (later ones add to it). */
        private final Set<String> written = new HashSet<>();
        private final List<memory> scratchMemories = new ArrayList<>();
        private long scratchBytes;
        /**
         * Short-lived buffers shared by all steps, by role: a batch norm's or convolution's output in
         * its own layout before conversion, an output gradient converted for one, its input gradient
         * before conversion, a gradient share before it is added.
         */
        private static final int OUT = 0;
        private static final int DIFF_DST = 1;
        private static final int DIFF_SRC = 2;
        private static final int SHARE = 3;
        private final List<List<memory>> transients = List.of(new ArrayList<>(), new ArrayList<>(),
                new ArrayList<>(), new ArrayList<>());
        private final long[] transientBytes = new long[4];
        /** Gradient buffers, reused once a value's gradient has been read by its producer's backward step. */
        private final List<Long> gradBuffers = new ArrayList<>();
        private final List<Integer> freeGradBuffers = new ArrayList<>();
        private final Map<String, Integer> gradBufferOf = new HashMap<>();
        /** Views into values' gradients (a merge's parts), bound with them. */
        private final List<Map.Entry<String, memory>> gradViews = new ArrayList<>();
        private final List<Runnable> afterBackward = new ArrayList<>();
        private memory inputMemory;
        private memory logits;
        private memory logitsGrad;
        private final Map<Node, Object[]> saved = new HashMap<>();

        Plan(long[] inputShape) {
            this.layout = layout(inputShape);
            memory.desc plain = new memory.desc(inputShape, memory.data_type.f32, memory.format_tag.nchw);
            inputMemory = OneDnn.unbound(plain);
            // The input's gradient is computed only where a layer other than a convolution reads it.
            values.put(input, new Value(plain, inputShape, inputMemory, OneDnn.unbound(plain)));
            for (Node n : nodes) {
                labels.add("-- " + n.name);
                forward(n);
            }
            for (int i = nodes.size() - 1; i >= 0; i--) {
                backward(nodes.get(i));
                Integer done = gradBufferOf.get(nodes.get(i).name); // read by its producer: free again
                if (done != null) {
                    freeGradBuffers.add(done);
                }
            }
        }

        /** What {@link #allocate} allocates: each buffer with room to align it to 64 bytes. */
        long bytes() {
            long total = aligned(scratchBytes);
            for (long b : transientBytes) {
                total += aligned(b);
            }
            for (long b : gradBuffers) {
                total += aligned(b);
            }
            for (long b : pendingBytes) {
                total += aligned(b);
            }
            return total;
        }

        private static long aligned(long bytes) {
            return Math.max(bytes, 1) + 64;
        }

        /**
         * Allocates the plan's buffers and binds its memories to them, after checking that they fit in
         * what JavaCPP may still allocate: a batch too large fails here, in one line, not in the middle
         * of a step with an OutOfMemoryError.
         */
        Plan allocate() {
            long[] shape = values.get(input).dims();
            NativeMemory.check(bytes(), "training a batch of " + java.util.Arrays.toString(shape)
                    + " with the compiled trainer", "train a smaller batch");
            for (int i = 0; i < pending.size(); i++) {
                pending.get(i).set_data_handle(aligned(allocate(pendingBytes.get(i))));
            }
            pendingViews.forEach(e -> e.getKey().set_data_handle(e.getValue().get_data_handle()));
            BytePointer scratch = allocate(scratchBytes);
            scratchMemories.forEach(m -> m.set_data_handle(scratch));
            for (int role = 0; role < transients.size(); role++) {
                BytePointer buffer = allocate(transientBytes[role]);
                transients.get(role).forEach(m -> m.set_data_handle(aligned(buffer)));
            }
            List<BytePointer> grads = gradBuffers.stream().map(this::allocate).toList();
            gradBufferOf.forEach((v, i) -> values.get(v).grad().set_data_handle(aligned(grads.get(i))));
            gradViews.forEach(e -> e.getValue().set_data_handle(aligned(grads.get(gradBufferOf.get(e.getKey())))));
            return this;
        }

        /** The layout of the plan's feature maps: {@link CompiledGraph}'s choice for these channel counts. */
        private memory.format_tag layout(long[] inputShape) {
            Map<String, Long> channels = new HashMap<>();
            channels.put(input, inputShape[1]);
            int block = OneDnn.BLOCKED == memory.format_tag.nChw16c ? 16 : 8;
            boolean fits = true;
            for (Node n : nodes) {
                long c = n instanceof ConcatNode ? n.in.stream().mapToLong(channels::get).sum()
                        : n instanceof ConvNode conv ? conv.conf.getNOut()
                        : n instanceof OutputNode o ? o.classes
                        : channels.get(n.in.get(0));
                channels.put(n.name, c);
                fits &= n instanceof OutputNode || c % block == 0;
            }
            return fits ? OneDnn.BLOCKED : memory.format_tag.nhwc;
        }

        private BytePointer allocate(long bytes) {
            BytePointer p = new BytePointer(Math.max(bytes, 1) + 64);
            owned.add(p);
            return p;
        }

        /** A new value of {@code dims} in the plan's layout, with buffers for it and its gradient. */
        private Value value(String name, long[] dims) {
            memory.desc desc = new memory.desc(dims, memory.data_type.f32, layout);
            Value v = new Value(desc, dims, owned(desc), OneDnn.unbound(desc));
            values.put(name, v);
            return v;
        }

        /** A memory of {@code desc} with a buffer of its own, allocated with the plan's. */
        private memory owned(memory.desc desc) {
            memory m = OneDnn.unbound(desc);
            pending.add(m);
            pendingBytes.add(desc.get_size());
            return m;
        }

        private Pointer aligned(BytePointer p) {
            return HostArrays.at((p.address() + 63) & ~63L);
        }

        /** A memory of {@code desc} in the shared buffer of {@code role}, valid until the next step of that role. */
        private memory transientMemory(int role, memory.desc desc) {
            transientBytes[role] = Math.max(transientBytes[role], desc.get_size());
            memory m = OneDnn.unbound(desc);
            transients.get(role).add(m);
            return m;
        }

        /** Gives {@code value}'s gradient a buffer (a free one that fits, else a new one) when it is first written. */
        private void gradBuffer(String value) {
            long bytes = values.get(value).desc().get_size();
            Integer best = null;
            for (Integer i : freeGradBuffers) {
                if (gradBuffers.get(i) >= bytes && (best == null || gradBuffers.get(i) < gradBuffers.get(best))) {
                    best = i;
                }
            }
            if (best == null) {
                gradBuffers.add(bytes);
                best = gradBuffers.size() - 1;
            } else {
                freeGradBuffers.remove(best);
            }
            gradBufferOf.put(value, best);
        }

        /** A memory over one parameter (or its gradient) of a layer, bound to the graph's arrays on every step. */
        private memory param(String layer, String key, boolean gradient, memory.desc desc) {
            memory m = OneDnn.unbound(desc);
            bound.add(new Bound(m, () -> gradient ? gradientOf(layer, key)
                    : HostArrays.pointer(graph.getLayer(layer).getParam(key))));
            return m;
        }

        /**
         * Where a parameter's gradient lies in the graph's gradient array: at the parameter's own offset
         * in the parameter array (DL4J lays both out alike, layer by layer and parameter by parameter).
         */
        private Pointer gradientOf(String layer, String key) {
            return HostArrays.at(HostArrays.address(graph.getFlattenedGradients()) + offsetBytes(layer, key));
        }

        private memory perChannel(long channels) {
            return owned(new memory.desc(new long[] {channels}, memory.data_type.f32, memory.format_tag.a));
        }

        // ---- forward

        private void forward(Node n) {
            if (n instanceof ConvNode c) {
                convForward(c);
            } else if (n instanceof NormNode b) {
                normForward(b);
            } else if (n instanceof ReluNode r) {
                reluForward(r);
            } else if (n instanceof PoolNode p) {
                poolForward(p);
            } else if (n instanceof GlobalPoolNode g) {
                globalPoolForward(g);
            } else if (n instanceof ConcatNode c) {
                concatForward(c);
            } else {
                outputForward((OutputNode) n);
            }
        }

        private void convForward(ConvNode c) {
            Value src = values.get(c.in.get(0));
            long[] w = graph.getLayer(c.name).getParam("W").shape();
            if (src.dims()[1] != w[1]) {
                throw new IllegalArgumentException("layer '" + c.name + "' expects " + w[1] + " input channels, got "
                        + src.dims()[1]);
            }
            ConvGeometry g = ConvGeometry.of(src.dims(), w, c.conf.getStride(), c.conf.getPadding(),
                    c.conf.getConvolutionMode()).fitting(c.name);
            Value dst = value(c.name, g.dst());
            var pd = convolution(c, g, c.in.get(0).equals(input) ? any(src.dims()) : src.desc(), dst.desc());
            if (referenceOnly(pd)) {
                // No fast kernel in these layouts (one input channel into NHWC, say): oneDNN's own
                // layouts, with conversions around.
                var own = convolution(c, g, any(src.dims()), any(g.dst()));
                pd = referenceOnly(own) ? pd : own;
            }
            memory srcMemory = converted(forward, src.data(), pd.src_desc());
            memory weights = converted(forward, param(c.name, "W", false, g.plainWeights()), pd.weights_desc());
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data() : transientMemory(OUT, pd.dst_desc());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, srcMemory, dnnl.DNNL_ARG_WEIGHTS, weights,
                    dnnl.DNNL_ARG_DST, out);
            if (c.conf.hasBias()) {
                args.put(dnnl.DNNL_ARG_BIAS, param(c.name, "b", false, g.bias()));
            }
            add(forward, new convolution_forward(pd), pd, args);
            convert(forward, out, dst.data());
            saved.put(c, new Object[] {g, pd, srcMemory, weights});
        }

        private convolution_forward.primitive_desc convolution(ConvNode c, ConvGeometry g, memory.desc src,
                memory.desc dst) {
            return new convolution_forward.primitive_desc(new convolution_forward.desc(
                    dnnl.prop_kind.forward_training, dnnl.algorithm.convolution_direct, src, any(g.weights()),
                    c.conf.hasBias() ? g.bias() : new memory.desc(), dst, g.strides(), g.padLeft(), g.padRight()),
                    attr(), OneDnn.ENGINE);
        }

        private void normForward(NormNode b) {
            Value src = values.get(b.in.get(0));
            Value dst = value(b.name, src.dims());
            long channels = src.dims()[1];
            memory.desc pc = new memory.desc(new long[] {channels}, memory.data_type.f32, memory.format_tag.a);
            var pd = normalization(b, src.desc());
            if (!pd.impl_info_str().getString().contains("jit")) {
                // oneDNN's NHWC kernel wants channels in whole vectors (C % 8 == 0), else runs a C++
                // loop many times slower: the blocked layout (channels padded) with conversions around.
                pd = normalization(b, new memory.desc(src.dims(), memory.data_type.f32, OneDnn.BLOCKED));
            }
            memory in = converted(forward, src.data(), pd.src_desc());
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data() : transientMemory(OUT, pd.dst_desc());
            memory mean = perChannel(channels);
            memory variance = perChannel(channels);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, in, dnnl.DNNL_ARG_DST, out,
                    dnnl.DNNL_ARG_SCALE, param(b.name, "gamma", false, pc),
                    dnnl.DNNL_ARG_SHIFT, param(b.name, "beta", false, pc),
                    dnnl.DNNL_ARG_MEAN, mean, dnnl.DNNL_ARG_VARIANCE, variance);
            memory workspace = null;
            if (b.relu) {
                workspace = owned(pd.workspace_desc());
                args.put(dnnl.DNNL_ARG_WORKSPACE, workspace);
            }
            add(forward, new batch_normalization_forward(pd), pd, args);
            convert(forward, out, dst.data());
            saved.put(b, new Object[] {pd, mean, variance, workspace, in});
            afterBackward.add(() -> runningStatistics(b, mean, variance));
        }

        private batch_normalization_forward.primitive_desc normalization(NormNode b, memory.desc data) {
            return new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_training.value, data, (float) b.conf.getEps(), flags(b)), attr(),
                    OneDnn.ENGINE);
        }

        private int flags(NormNode b) {
            return dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value
                    | (b.relu ? dnnl.normalization_flags.fuse_norm_relu.value : 0);
        }

        private void reluForward(ReluNode r) {
            Value src = values.get(r.in.get(0));
            Value dst = value(r.name, src.dims());
            var pd = new eltwise_forward.primitive_desc(new eltwise_forward.desc(dnnl.prop_kind.forward_training,
                    dnnl.algorithm.eltwise_relu, src.desc(), 0f, 0f), attr(), OneDnn.ENGINE);
            add(forward, new eltwise_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_DST, dst.data()));
            saved.put(r, new Object[] {pd});
        }

        private void poolForward(PoolNode p) {
            Value src = values.get(p.in.get(0));
            long[] d = src.dims();
            SubsamplingLayer s = p.conf;
            ConvGeometry g = ConvGeometry.of(d, new long[] {d[1], d[1], s.getKernelSize()[0],
                    s.getKernelSize()[1]}, s.getStride(), s.getPadding(), s.getConvolutionMode()).fitting(p.name);
            dnnl.algorithm algorithm = s.getPoolingType() == PoolingType.MAX ? dnnl.algorithm.pooling_max
                    : s.isAvgPoolIncludePadInDivisor() ? dnnl.algorithm.pooling_avg_include_padding
                    : dnnl.algorithm.pooling_avg_exclude_padding;
            pooling(p, src, algorithm, g.dst(), g.strides(), g.kernel(), g.padLeft(), g.padRight());
        }

        private void globalPoolForward(GlobalPoolNode p) {
            Value src = values.get(p.in.get(0));
            long[] d = src.dims();
            pooling(p, src, p.max ? dnnl.algorithm.pooling_max : dnnl.algorithm.pooling_avg_exclude_padding,
                    new long[] {d[0], d[1], 1, 1}, new long[] {1, 1}, new long[] {d[2], d[3]}, new long[] {0, 0},
                    new long[] {0, 0});
        }

        private void pooling(Node p, Value src, dnnl.algorithm algorithm, long[] dstDims, long[] strides,
                long[] kernel, long[] padLeft, long[] padRight) {
            Value dst = value(p.name, dstDims);
            var pd = new pooling_forward.primitive_desc(new pooling_forward.desc(dnnl.prop_kind.forward_training,
                    algorithm, src.desc(), dst.desc(), strides, kernel, padLeft, padRight), attr(), OneDnn.ENGINE);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(), dnnl.DNNL_ARG_DST, dst.data());
            memory workspace = null;
            if (algorithm == dnnl.algorithm.pooling_max) {
                workspace = owned(pd.workspace_desc());
                args.put(dnnl.DNNL_ARG_WORKSPACE, workspace);
            }
            add(forward, new pooling_forward(pd), pd, args);
            saved.put(p, new Object[] {pd, workspace, algorithm, strides, kernel, padLeft, padRight});
        }

        private void concatForward(ConcatNode c) {
            long[] dims = values.get(c.in.get(0)).dims().clone();
            dims[1] = c.in.stream().mapToLong(i -> values.get(i).dims()[1]).sum();
            Value dst = value(c.name, dims);
            long offset = 0;
            for (String i : c.in) {
                Value part = values.get(i);
                if (part.dims()[0] != dims[0] || part.dims()[2] != dims[2]
                        || part.dims()[3] != dims[3]) {
                    throw new IllegalArgumentException("merge '" + c.name + "': input '" + i + "' of "
                            + java.util.Arrays.toString(part.dims()) + " does not match the others ("
                            + java.util.Arrays.toString(dims) + " after merging)");
                }
                memory view = OneDnn.unbound(dst.desc().submemory_desc(part.dims(), new long[] {0, offset, 0, 0}));
                pendingViews.add(Map.entry(view, dst.data()));
                forward.add(new Step(new reorder(part.data(), view),
                        OneDnn.args(dnnl.DNNL_ARG_FROM, part.data(), dnnl.DNNL_ARG_TO, view)));
                labels.add(c.name + ": reorder into the merge");
                offset += part.dims()[1];
            }
        }

        private void outputForward(OutputNode o) {
            Value src = values.get(o.in.get(0));
            long[] d = src.dims();
            INDArray w = graph.getLayer(o.name).getParam("W"); // [in, out]: oneDNN's [out, in, 1, 1] weights
            if (w.size(0) != d[1]) {
                throw new IllegalArgumentException("layer '" + o.name + "' expects " + w.size(0) + " features, got "
                        + d[1]);
            }
            long[] wDims = {o.classes, d[1], 1, 1};
            memory.desc user = new memory.desc(wDims, memory.data_type.f32,
                    new long[] {w.stride(1), w.stride(0), w.length(), w.length()});
            memory.desc bias = new memory.desc(new long[] {o.classes}, memory.data_type.f32, memory.format_tag.a);
            memory.desc dstDesc = new memory.desc(new long[] {d[0], o.classes}, memory.data_type.f32,
                    memory.format_tag.nc);
            var pd = new inner_product_forward.primitive_desc(new inner_product_forward.desc(
                    dnnl.prop_kind.forward_training, src.desc(),
                    new memory.desc(wDims, memory.data_type.f32, memory.format_tag.any), bias, dstDesc), attr(),
                    OneDnn.ENGINE);
            memory weights = converted(forward, param(o.name, "W", false, user), pd.weights_desc());
            logits = owned(dstDesc);
            logitsGrad = owned(dstDesc);
            add(forward, new inner_product_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_WEIGHTS, weights, dnnl.DNNL_ARG_BIAS, param(o.name, "b", false, bias),
                    dnnl.DNNL_ARG_DST, logits));
            saved.put(o, new Object[] {pd, user, bias, weights, wDims});
        }

        // ---- backward

        private void backward(Node n) {
            if (n instanceof ConvNode c) {
                convBackward(c);
            } else if (n instanceof NormNode b) {
                normBackward(b);
            } else if (n instanceof ReluNode r) {
                reluBackward(r);
            } else if (n instanceof PoolNode || n instanceof GlobalPoolNode) {
                poolBackward(n);
            } else if (n instanceof ConcatNode c) {
                concatBackward(c);
            } else {
                outputBackward((OutputNode) n);
            }
        }

        private void convBackward(ConvNode c) {
            Object[] s = saved.get(c);
            ConvGeometry g = (ConvGeometry) s[0];
            var hint = (convolution_forward.primitive_desc) s[1];
            memory srcMemory = (memory) s[2];
            memory weights = (memory) s[3];
            boolean bias = c.conf.hasBias();
            memory diffDst = convertedTransient(values.get(c.name).grad(), hint.dst_desc());
            var weightsPd = new convolution_backward_weights.primitive_desc(new convolution_backward_weights.desc(
                    dnnl.algorithm.convolution_direct, srcMemory.get_desc(), any(g.weights()),
                    bias ? g.bias() : new memory.desc(), diffDst.get_desc(), g.strides(), g.padLeft(), g.padRight()),
                    attr(), OneDnn.ENGINE, hint);
            memory userGrad = param(c.name, "W", true, g.plainWeights());
            memory diffWeights = weightsPd.diff_weights_desc().equals(g.plainWeights()) ? userGrad
                    : owned(weightsPd.diff_weights_desc());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, srcMemory, dnnl.DNNL_ARG_DIFF_DST, diffDst,
                    dnnl.DNNL_ARG_DIFF_WEIGHTS, diffWeights);
            if (bias) {
                args.put(dnnl.DNNL_ARG_DIFF_BIAS, param(c.name, "b", true, g.bias()));
            }
            add(backward, new convolution_backward_weights(weightsPd), weightsPd, args);
            convert(backward, diffWeights, userGrad);
            String in = c.in.get(0);
            if (in.equals(input)) {
                return; // the graph's input: no gradient wanted
            }
            var dataPd = new convolution_backward_data.primitive_desc(new convolution_backward_data.desc(
                    dnnl.algorithm.convolution_direct, srcMemory.get_desc(), any(g.weights()), diffDst.get_desc(),
                    g.strides(), g.padLeft(), g.padRight()), attr(), OneDnn.ENGINE, hint);
            memory w = converted(backward, weights, dataPd.weights_desc());
            memory target = gradientTarget(in);
            memory out = dataPd.diff_src_desc().equals(target.get_desc()) ? target
                    : transientMemory(DIFF_SRC, dataPd.diff_src_desc());
            add(backward, new convolution_backward_data(dataPd), dataPd, OneDnn.args(
                    dnnl.DNNL_ARG_DIFF_DST, diffDst, dnnl.DNNL_ARG_WEIGHTS, w, dnnl.DNNL_ARG_DIFF_SRC, out));
            convert(backward, out, target);
            accumulate(in, target);
        }

        private void normBackward(NormNode b) {
            Object[] s = saved.get(b);
            var hint = (batch_normalization_forward.primitive_desc) s[0];
            memory in = (memory) s[4];
            memory.desc data = hint.src_desc();
            memory.desc pc = new memory.desc(new long[] {values.get(b.name).dims()[1]}, memory.data_type.f32,
                    memory.format_tag.a);
            var pd = new batch_normalization_backward.primitive_desc(new batch_normalization_backward.desc(
                    dnnl.prop_kind.backward.value, data, data, (float) b.conf.getEps(), flags(b)), attr(),
                    OneDnn.ENGINE, hint);
            memory diffDst = convertedTransient(values.get(b.name).grad(), data);
            memory target = gradientTarget(b.in.get(0));
            memory out = data.equals(target.get_desc()) ? target : transientMemory(DIFF_SRC, data);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, in, dnnl.DNNL_ARG_DIFF_DST, diffDst,
                    dnnl.DNNL_ARG_SCALE, param(b.name, "gamma", false, pc),
                    dnnl.DNNL_ARG_SHIFT, param(b.name, "beta", false, pc),
                    dnnl.DNNL_ARG_MEAN, (memory) s[1], dnnl.DNNL_ARG_VARIANCE, (memory) s[2],
                    dnnl.DNNL_ARG_DIFF_SRC, out,
                    dnnl.DNNL_ARG_DIFF_SCALE, param(b.name, "gamma", true, pc),
                    dnnl.DNNL_ARG_DIFF_SHIFT, param(b.name, "beta", true, pc));
            if (b.relu) {
                args.put(dnnl.DNNL_ARG_WORKSPACE, (memory) s[3]);
            }
            add(backward, new batch_normalization_backward(pd), pd, args);
            convert(backward, out, target);
            accumulate(b.in.get(0), target);
        }

        private void reluBackward(ReluNode r) {
            var hint = (eltwise_forward.primitive_desc) saved.get(r)[0];
            Value src = values.get(r.in.get(0));
            var pd = new eltwise_backward.primitive_desc(new eltwise_backward.desc(dnnl.algorithm.eltwise_relu,
                    src.desc(), src.desc(), 0f, 0f), attr(), OneDnn.ENGINE, hint);
            memory target = gradientTarget(r.in.get(0));
            add(backward, new eltwise_backward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_DIFF_DST, values.get(r.name).grad(), dnnl.DNNL_ARG_DIFF_SRC, target));
            accumulate(r.in.get(0), target);
        }

        private void poolBackward(Node p) {
            Object[] s = saved.get(p);
            var hint = (pooling_forward.primitive_desc) s[0];
            Value src = values.get(p.in.get(0));
            Value dst = values.get(p.name);
            var pd = new pooling_backward.primitive_desc(new pooling_backward.desc((dnnl.algorithm) s[2],
                    src.desc(), dst.desc(), (long[]) s[3], (long[]) s[4], (long[]) s[5], (long[]) s[6]), attr(),
                    OneDnn.ENGINE, hint);
            memory target = gradientTarget(p.in.get(0));
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_DIFF_DST, dst.grad(), dnnl.DNNL_ARG_DIFF_SRC, target);
            if (s[1] != null) {
                args.put(dnnl.DNNL_ARG_WORKSPACE, (memory) s[1]);
            }
            add(backward, new pooling_backward(pd), pd, args);
            accumulate(p.in.get(0), target);
        }

        private void concatBackward(ConcatNode c) {
            Value whole = values.get(c.name);
            long offset = 0;
            for (String i : c.in) {
                Value part = values.get(i);
                memory view = OneDnn.unbound(whole.desc().submemory_desc(part.dims(), new long[] {0, offset, 0, 0}));
                gradViews.add(Map.entry(c.name, view)); // bound with the merge's gradient buffer
                memory target = gradientTarget(i);
                backward.add(new Step(new reorder(view, target),
                        OneDnn.args(dnnl.DNNL_ARG_FROM, view, dnnl.DNNL_ARG_TO, target)));
                labels.add(c.name + ": reorder out of the merge's gradient");
                accumulate(i, target);
                offset += part.dims()[1];
            }
        }

        private void outputBackward(OutputNode o) {
            Object[] s = saved.get(o);
            var hint = (inner_product_forward.primitive_desc) s[0];
            memory.desc user = (memory.desc) s[1];
            memory.desc bias = (memory.desc) s[2];
            Value src = values.get(o.in.get(0));
            memory.desc any = new memory.desc((long[]) s[4], memory.data_type.f32, memory.format_tag.any);
            var weightsPd = new inner_product_backward_weights.primitive_desc(new inner_product_backward_weights.desc(
                    src.desc(), any, bias, logitsGrad.get_desc()), attr(), OneDnn.ENGINE, hint);
            memory userGrad = param(o.name, "W", true, user);
            memory diffWeights = weightsPd.diff_weights_desc().equals(user) ? userGrad
                    : owned(weightsPd.diff_weights_desc());
            add(backward, new inner_product_backward_weights(weightsPd), weightsPd, OneDnn.args(
                    dnnl.DNNL_ARG_SRC, src.data(), dnnl.DNNL_ARG_DIFF_DST, logitsGrad,
                    dnnl.DNNL_ARG_DIFF_WEIGHTS, diffWeights, dnnl.DNNL_ARG_DIFF_BIAS, param(o.name, "b", true, bias)));
            convert(backward, diffWeights, userGrad);
            var dataPd = new inner_product_backward_data.primitive_desc(new inner_product_backward_data.desc(
                    src.desc(), any, logitsGrad.get_desc()), attr(), OneDnn.ENGINE, hint);
            memory w = converted(backward, (memory) s[3], dataPd.weights_desc());
            memory target = gradientTarget(o.in.get(0));
            add(backward, new inner_product_backward_data(dataPd), dataPd, OneDnn.args(
                    dnnl.DNNL_ARG_DIFF_DST, logitsGrad, dnnl.DNNL_ARG_WEIGHTS, w, dnnl.DNNL_ARG_DIFF_SRC, target));
            accumulate(o.in.get(0), target);
        }

        /**
         * Where a backward step writes its share of {@code value}'s gradient: the gradient itself when it
         * is the first share, else a temporary that {@link #accumulate} then adds to it.
         */
        private memory gradientTarget(String value) {
            Value v = values.get(value);
            if (!written.contains(value)) {
                gradBuffer(value);
                return v.grad();
            }
            return transientMemory(SHARE, v.desc());
        }

        private void accumulate(String value, memory target) {
            Value v = values.get(value);
            if (written.add(value)) {
                return;
            }
            var pd = new binary.primitive_desc(new binary.desc(dnnl.algorithm.binary_add, v.desc(), v.desc(),
                    v.desc()), attr(), OneDnn.ENGINE);
            add(backward, new binary(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC_0, v.grad(),
                    dnnl.DNNL_ARG_SRC_1, target, dnnl.DNNL_ARG_DST, v.grad()));
        }

        // ---- shared

        /** {@code m}, or a copy of it in layout {@code wanted} made by a step added to {@code steps}. */
        private memory converted(List<Step> steps, memory m, memory.desc wanted) {
            if (m.get_desc().equals(wanted)) {
                return m;
            }
            memory copy = owned(wanted);
            convert(steps, m, copy);
            return copy;
        }

        /** An output gradient as a backward step wants it: itself, or a short-lived converted copy. */
        private memory convertedTransient(memory grad, memory.desc wanted) {
            if (grad.get_desc().equals(wanted)) {
                return grad;
            }
            memory copy = transientMemory(DIFF_DST, wanted);
            convert(backward, grad, copy);
            return copy;
        }

        /** A step converting {@code from} into {@code to}, unless they are the same memory. */
        private void convert(List<Step> steps, memory from, memory to) {
            if (from != to) {
                steps.add(new Step(new reorder(from, to), OneDnn.args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to)));
                labels.add("reorder");
            }
        }

        private static memory.desc any(long[] dims) {
            return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
        }

        private static boolean referenceOnly(primitive_desc_base pd) {
            return pd.impl_info_str().getString().startsWith("ref");
        }

        private primitive_attr attr() {
            primitive_attr attr = new primitive_attr();
            attr.set_scratchpad_mode(dnnl.scratchpad_mode.user);
            return attr;
        }

        private void add(List<Step> steps, primitive p, primitive_desc_base pd, IntMemoryMap args) {
            memory.desc scratchDesc = pd.scratchpad_desc();
            scratchBytes = Math.max(scratchBytes, scratchDesc.get_size() + 64);
            memory m = OneDnn.unbound(scratchDesc);
            scratchMemories.add(m);
            args.put(dnnl.DNNL_ARG_SCRATCHPAD, m);
            steps.add(new Step(p, args));
            labels.add((steps == forward ? "forward " : "backward ") + pd.impl_info_str().getString());
        }


        /**
         * One step's forward and backward passes on {@code x} with one-hot (or soft) labels {@code y}:
         * returns the summed cross-entropy; the gradients are in the graph's gradient array after.
         */
        double run(INDArray x, float[] y) {
            inputMemory.set_data_handle(HostArrays.pointer(x));
            for (Bound b : bound) {
                b.memory().set_data_handle(b.address().get());
            }
            stream s = OneDnn.STREAM.get();
            for (Step step : forward) {
                step.primitive().execute(s, step.args());
            }
            s._wait();
            double loss = softmaxCrossEntropy(y);
            for (Step step : backward) {
                step.primitive().execute(s, step.args());
            }
            s._wait();
            afterBackward.forEach(Runnable::run);
            return loss;
        }

        /**
         * Softmax of the logits and DL4J's multi-class cross-entropy: the loss summed over the batch
         * (probabilities clipped to [1e-10, 1 - 1e-10] in the logarithm, as LossMCXENT does), and the
         * logits' gradient {@code p - y} (summed-loss convention: DL4J's updater divides by the batch).
         */
        private double softmaxCrossEntropy(float[] y) {
            int classes = (int) output.classes;
            int n = y.length / classes;
            float[] z = new float[y.length];
            new FloatPointer(logits.get_data_handle()).get(z);
            float[] grad = new float[y.length];
            float[] probabilities = new float[y.length];
            double eps = output.clip;
            double loss = 0;
            for (int i = 0; i < n; i++) {
                int o = i * classes;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < classes; k++) {
                    max = Math.max(max, z[o + k]);
                }
                double sum = 0;
                for (int k = 0; k < classes; k++) {
                    sum += Math.exp(z[o + k] - max);
                }
                for (int k = 0; k < classes; k++) {
                    double p = Math.exp(z[o + k] - max) / sum;
                    probabilities[o + k] = (float) p;
                    grad[o + k] = (float) (p - y[o + k]);
                    if (y[o + k] != 0) {
                        loss -= y[o + k] * Math.log(Math.min(Math.max(p, eps), 1 - eps));
                    }
                }
            }
            new FloatPointer(logitsGrad.get_data_handle()).put(grad);
            lastOutput = probabilities;
            return loss;
        }

        /**
         * The running statistics' entries in the gradient array, as DL4J's BatchNormalization writes them:
         * the old value minus the new one (mean and variance: {@code decay * old + (1 - decay) * batch};
         * log10 standard deviation: of that variance), so that the step {@code params -= gradient} sets
         * the new value (the updater leaves these entries alone).
         */
        private void runningStatistics(NormNode b, memory batchMean, memory batchVar) {
            int c = (int) values.get(b.name).dims()[1];
            float[] mean = new float[c];
            float[] var = new float[c];
            new FloatPointer(batchMean.get_data_handle()).get(mean);
            new FloatPointer(batchVar.get_data_handle()).get(var);
            Layer layer = graph.getLayer(b.name);
            double decay = b.conf.getDecay();
            float[] globalMean = floats(layer.getParam("mean"), c);
            float[] meanGrad = new float[c];
            for (int i = 0; i < c; i++) {
                meanGrad[i] = (float) ((globalMean[i] - mean[i]) * (1 - decay));
            }
            put(gradientOf(b.name, "mean"), meanGrad);
            String key = b.conf.isUseLogStd() ? "log10stdev" : "var";
            float[] global = floats(layer.getParam(key), c);
            float[] grad = new float[c];
            for (int i = 0; i < c; i++) {
                if (b.conf.isUseLogStd()) {
                    double old = Math.pow(10, 2.0 * global[i]);
                    double updated = decay * old + (1 - decay) * var[i];
                    grad[i] = (float) (0.5 * Math.log10(old / updated));
                } else {
                    grad[i] = (float) ((global[i] - var[i]) * (1 - decay));
                }
            }
            put(gradientOf(b.name, key), grad);
        }

        /** A dense float parameter's values, read where it lies. */
        private float[] floats(INDArray param, int n) {
            float[] values = new float[n];
            new FloatPointer(HostArrays.pointer(param)).get(values);
            return values;
        }

        private void put(Pointer at, float[] values) {
            new FloatPointer(at).put(values);
        }
    }
}
