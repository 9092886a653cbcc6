package org.densenet4j.zoo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
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
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A ComputationGraph compiled for inference on the CPU: the same outputs as
 * {@code graph.output(input)} (to float rounding), computed as one fixed sequence of oneDNN
 * primitives instead of layer by layer.
 *
 * <p>What compiling buys, and why it is the zoo's default for inference (the CLI's predict, classify,
 * demo and benchmark use it; the graph's own {@code output()} stays available):
 * <ul>
 *   <li>batch normalisation after a convolution is folded into the convolution's weights and bias,
 *       and a ReLU after either runs inside it (oneDNN post-op or fused normalisation): DenseNet's
 *       {@code conv_x1 -> x2_bn -> relu} is one primitive;</li>
 *   <li>activations stay in oneDNN's blocked layout from the first convolution to the classifier
 *       (nChw16c or nChw8c, whichever the CPU's kernels use; NHWC when channel counts do not divide
 *       into blocks), so no layer converts to and from NCHW;</li>
 *   <li>weights are converted to the layout their primitive wants once, when a shape is first seen;</li>
 *   <li>every intermediate lives in a few buffers planned once per input shape (reused as soon as the
 *       last reader has run); nothing is allocated per call except the outputs.</li>
 * </ul>
 *
 * <p>The compiled graph holds a snapshot of the parameters taken by {@link #compile}: compile again
 * after training or changing them. It runs what DenseNet and similar convolutional graphs are made of:
 * convolutions (NCHW, no dilation, identity or ReLU activation), batch normalisation, ReLU and dropout
 * layers, max and average pooling, global pooling, channel concatenation (MergeVertex), and dense or
 * output layers on the pooled features (any DL4J activation). For anything else {@link #compile}
 * says which vertex it cannot run. One input; one or more outputs; calls are serialised (use one
 * compiled graph per thread to run in parallel).
 *
 * <pre>{@code
 * ComputationGraph net = new DenseNet121().init();
 * CompiledGraph fast = CompiledGraph.compile(net);
 * INDArray probabilities = fast.output(images);   // [N, 1000], as net.outputSingle(images)
 * }</pre>
 */
public final class CompiledGraph implements AutoCloseable {

    private static final int BN_FLAGS = dnnl.normalization_flags.use_global_stats.value
            | dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value;

    private final String input;
    private final List<Op> ops;
    /** The values the graph's outputs are, in the graph's order. */
    private final List<String> outputs;
    private final memory.format_tag layout;
    /** Plans of the input shapes used last: each holds its feature-map buffers, so only a few are kept. */
    private final OneDnn.Plans<Plan> plans = new OneDnn.Plans<>(4);
    private boolean closed;

    private CompiledGraph(String input, List<Op> ops, List<String> outputs, memory.format_tag layout) {
        this.input = input;
        this.ops = ops;
        this.outputs = outputs;
        this.layout = layout;
    }

    /** Whether graphs can be compiled here: ND4J's CPU backend with oneDNN's natives loaded. */
    public static boolean available() {
        return OneDnn.LOADED;
    }

    /**
     * Compiles {@code graph} (initialised) with a snapshot of its current parameters.
     *
     * @throws UnsupportedOperationException naming the first vertex the compiled graph cannot run,
     *         or when oneDNN is not {@link #available()}
     */
    public static CompiledGraph compile(ComputationGraph graph) {
        return compile(graph, graph.getConfiguration().getNetworkOutputs().toArray(String[]::new));
    }

    /**
     * Compiles the part of {@code graph} that computes the vertices {@code outputs} (any of its
     * vertices: {@code "pool5"} for DenseNet-121's pooled features, say), which are then the outputs
     * of {@link #output}, in this order, as {@code graph.feedForward(x, false)} gives them.
     *
     * @throws UnsupportedOperationException naming the first vertex the compiled graph cannot run,
     *         or when oneDNN is not {@link #available()}
     * @throws IllegalArgumentException naming an output the graph does not have
     */
    public static CompiledGraph compile(ComputationGraph graph, String... outputs) {
        if (!available()) {
            throw new UnsupportedOperationException(
                    "compiled inference needs ND4J's CPU backend and oneDNN's natives (org.bytedeco:dnnl)");
        }
        if (graph.getVertices() == null) {
            throw new IllegalStateException("the graph is not initialised: call init() first");
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return new Compiler(graph, List.of(outputs)).compile();
        }
    }

    /**
     * The zoo's default inference for {@code graph}: its compiled form where it compiles (oneDNN
     * {@link #available()}, every vertex supported), else the graph's own
     * {@code outputSingle(false, x)}, detached from its workspaces. Either way the function returns
     * the first output for an NCHW input, in an array of the caller's.
     */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph) {
        return tryCompile(graph).<UnaryOperator<INDArray>>map(c -> c::outputSingle)
                .orElse(x -> graph.outputSingle(false, x).detach());
    }

    /**
     * As {@link #inference(ComputationGraph)}, for the activations of one vertex (pooled features,
     * say): the compiled part of the graph that computes it, else {@code graph.feedForward(x, false)}.
     */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph, String vertex) {
        return tryCompile(graph, vertex).<UnaryOperator<INDArray>>map(c -> c::outputSingle)
                .orElse(x -> graph.feedForward(x, false).get(vertex).detach());
    }

    /**
     * {@code graph} compiled (for {@code outputs}, or its own outputs when none are named), or empty
     * where oneDNN is not {@link #available()} or a vertex is not supported.
     */
    public static Optional<CompiledGraph> tryCompile(ComputationGraph graph, String... outputs) {
        if (!available()) {
            return Optional.empty();
        }
        try {
            return Optional.of(outputs.length == 0 ? compile(graph) : compile(graph, outputs));
        } catch (UnsupportedOperationException e) { // a vertex the compiled graph does not run
            return Optional.empty();
        }
    }

    /**
     * The graph's outputs for {@code input} ([N, C, H, W], NCHW), as {@code graph.output(input)} gives
     * them. The arrays are new and belong to the caller (no workspace).
     *
     * @throws IllegalArgumentException when the input does not fit the graph (rank, channels, a size
     *         smaller than a window), naming the layer
     */
    public synchronized INDArray[] output(INDArray input) {
        checkOpen();
        if (input.rank() != 4) {
            throw new IllegalArgumentException("expected an input of shape [N, C, H, W], got "
                    + Arrays.toString(input.shape()));
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray x = HostArrays.contiguous(input.dataType() == DataType.FLOAT ? input : input.castTo(DataType.FLOAT));
            long[] shape = x.shape();
            Plan plan = plans.get(List.of(shape[0], shape[1], shape[2], shape[3]), () -> new Plan(shape));
            return plan.run(x);
        }
    }

    /**
     * The plan for inputs of {@code shape} ([N, C, H, W]), one line per step: the value it makes and
     * oneDNN's implementation ({@code brgconv:avx512_core}, {@code bnorm_jit:avx512_common}, ...;
     * {@code ref} ones are oneDNN's slow reference code), or what it copies.
     */
    public synchronized List<String> describe(long... shape) {
        checkOpen();
        if (shape.length != 4) {
            throw new IllegalArgumentException("expected a shape [N, C, H, W], got " + Arrays.toString(shape));
        }
        long[] s = shape.clone();
        return plans.get(List.of(s[0], s[1], s[2], s[3]), () -> new Plan(s)).steps.stream().map(Step::label).toList();
    }

    /** The first (for DenseNet, the only) output for {@code input}: {@code graph.outputSingle(input)}. */
    public INDArray outputSingle(INDArray input) {
        return output(input)[0];
    }

    /** The activation layout the compiled graph keeps its feature maps in (nChw16c, nChw8c or nhwc). */
    public String layout() {
        return layout.name();
    }

    /**
     * Releases the native memory the compiled graph holds (its weights in oneDNN's layouts, every
     * plan's feature-map and scratch buffers, its primitives) now rather than when the garbage
     * collector finds it; waits for a running call. Later calls of {@link #output} fail.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        plans.drain(Plan::release);
        ops.forEach(Op::release);
    }

    /** Whether {@link #close} has run. */
    public synchronized boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this compiled graph is closed");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Compilation: the graph's vertices as a list of operations, fused where one feeds only the next.

    /**
     * One compiled operation: reads the values named {@link #in()}, writes the value named
     * {@link #out()} (each the name of the graph vertex that makes it).
     */
    private abstract static sealed class Op permits Conv, Norm, Relu, Pool, GlobalPool, Concat, Dense {
        final String out;
        final List<String> in;

        Op(String out, List<String> in) {
            this.out = out;
            this.in = in;
        }

        String out() {
            return out;
        }

        List<String> in() {
            return in;
        }

        /** The single input of a one-input operation. */
        String source() {
            return in.get(0);
        }

        /** Channels (features) of the output, from those of the inputs: the first input's unless the operation sets them. */
        long channels(List<Long> inChannels) {
            return inChannels.get(0);
        }

        /** Frees the native memory the operation's parameters were copied into. */
        void release() {
        }
    }

    /**
     * A layer's weights and bias, snapshotted at compile time: the weights in DL4J's layout
     * ({@code plain}) and converted, once, to each layout a plan's primitive asks for.
     */
    private static final class Weights {
        final float[] values;
        final memory.desc plain;
        float[] bias;
        private final List<memory> converted = new ArrayList<>();
        private memory biasMemory;

        Weights(float[] values, memory.desc plain, float[] bias) {
            this.values = values;
            this.plain = plain;
            this.bias = bias;
        }

        /** The weights in {@code desc}'s layout, converted the first time it is asked for. */
        memory in(memory.desc desc) {
            for (memory m : converted) {
                if (m.get_desc().equals(desc)) {
                    return m;
                }
            }
            memory from = filled(plain, values);
            memory m = new memory(desc, OneDnn.ENGINE);
            stream s = OneDnn.STREAM.get();
            new reorder(from, m).execute(s, from, m);
            s._wait();
            converted.add(m);
            return m;
        }

        /** The bias as a oneDNN memory (made once), or null. */
        memory bias() {
            if (bias != null && biasMemory == null) {
                biasMemory = filled(new memory.desc(new long[] {bias.length}, memory.data_type.f32,
                        memory.format_tag.a), bias);
            }
            return biasMemory;
        }

        void release() {
            converted.forEach(memory::close);
            converted.clear();
            if (biasMemory != null) {
                biasMemory.close();
                biasMemory = null;
            }
        }

        /** The weights and bias as primitive arguments. */
        void addTo(IntMemoryMap args, memory.desc desc) {
            args.put(dnnl.DNNL_ARG_WEIGHTS, in(desc));
            if (bias != null) {
                args.put(dnnl.DNNL_ARG_BIAS, bias());
            }
        }
    }

    /** A convolution, possibly with a batch normalisation folded in and a ReLU after. */
    private static final class Conv extends Op {
        final long[] shape;
        final Weights weights;
        final int[] strides;
        final int[] pad;
        final ConvolutionMode mode;
        boolean relu;

        @Override
        void release() {
            weights.release();
        }

        Conv(String out, String in, long[] shape, float[] weights, float[] bias, int[] strides, int[] pad,
                ConvolutionMode mode, boolean relu) {
            super(out, List.of(in));
            this.shape = shape;
            this.weights = new Weights(weights, new memory.desc(shape, memory.data_type.f32, memory.format_tag.oihw),
                    bias);
            this.strides = strides;
            this.pad = pad;
            this.mode = mode;
            this.relu = relu;
        }

        @Override
        long channels(List<Long> inChannels) {
            return shape[0];
        }

        /** Folds {@code bn} (which reads only this convolution's output) into the weights and bias. */
        void fold(Norm bn) {
            float[] w = weights.values;
            int perOutput = w.length / (int) shape[0];
            float[] folded = new float[(int) shape[0]];
            for (int o = 0; o < shape[0]; o++) {
                double scale = bn.gamma[o] / Math.sqrt((double) bn.var[o] + bn.eps);
                for (int i = o * perOutput; i < (o + 1) * perOutput; i++) {
                    w[i] = (float) (w[i] * scale);
                }
                double b = weights.bias == null ? 0 : weights.bias[o];
                folded[o] = (float) ((b - bn.mean[o]) * scale + bn.beta[o]);
            }
            weights.bias = folded;
        }
    }

    /** Batch normalisation with the running statistics, possibly with a ReLU after. */
    private static final class Norm extends Op {
        final float[] gamma;
        final float[] beta;
        final float[] mean;
        final float[] var;
        final float eps;
        boolean relu;
        private memory[] parameters;

        Norm(String out, String in, float[] gamma, float[] beta, float[] mean, float[] var, float eps) {
            super(out, List.of(in));
            this.gamma = gamma;
            this.beta = beta;
            this.mean = mean;
            this.var = var;
            this.eps = eps;
        }

        /** mean, variance, scale, shift as oneDNN memories, made once. */
        memory[] parameters() {
            if (parameters == null) {
                memory.desc d = new memory.desc(new long[] {gamma.length}, memory.data_type.f32, memory.format_tag.a);
                parameters = new memory[] {filled(d, mean), filled(d, var), filled(d, gamma), filled(d, beta)};
            }
            return parameters;
        }

        @Override
        void release() {
            if (parameters != null) {
                Arrays.stream(parameters).forEach(memory::close);
                parameters = null;
            }
        }
    }

    private static final class Relu extends Op {
        Relu(String out, String in) {
            super(out, List.of(in));
        }
    }

    private static final class Pool extends Op {
        final boolean max;
        final boolean includePadding;
        final int[] kernel;
        final int[] strides;
        final int[] pad;
        final ConvolutionMode mode;

        Pool(String out, String in, boolean max, boolean includePadding, int[] kernel, int[] strides, int[] pad,
                ConvolutionMode mode) {
            super(out, List.of(in));
            this.max = max;
            this.includePadding = includePadding;
            this.kernel = kernel;
            this.strides = strides;
            this.pad = pad;
            this.mode = mode;
        }
    }

    /** Pooling over all of height and width: [N, C, H, W] to [N, C]. */
    private static final class GlobalPool extends Op {
        final boolean max;

        GlobalPool(String out, String in, boolean max) {
            super(out, List.of(in));
            this.max = max;
        }
    }

    private static final class Concat extends Op {
        Concat(String out, List<String> in) {
            super(out, in);
        }

        @Override
        long channels(List<Long> inChannels) {
            return inChannels.stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * A dense or output layer on [N, F] features: oneDNN's inner product, then the layer's activation
     * (a ReLU inside the primitive, anything else by DL4J's own activation function on the result).
     */
    private static final class Dense extends Op {
        final long inputs;
        final long outputs;
        final Weights weights;
        final IActivation activation;

        Dense(String out, String in, long inputs, long outputs, Weights weights, IActivation activation) {
            super(out, List.of(in));
            this.inputs = inputs;
            this.outputs = outputs;
            this.weights = weights;
            this.activation = activation;
        }

        @Override
        long channels(List<Long> inChannels) {
            return outputs;
        }

        @Override
        void release() {
            weights.release();
        }

        boolean relu() {
            return new ActivationReLU().equals(activation);
        }

        boolean identity() {
            return activation instanceof ActivationIdentity;
        }
    }

    /** Turns a graph's vertices, in topological order, into fused operations. */
    private static final class Compiler {
        private final ComputationGraph graph;
        private final ComputationGraphConfiguration conf;
        private final Map<String, Integer> consumers = new HashMap<>();
        /** Vertices that are not operations of their own: the value (or vertex) they stand for. */
        private final Map<String, String> alias = new HashMap<>();
        private final Map<String, Op> producer = new LinkedHashMap<>();
        /** Values that are [N, F] arrays (after global pooling) rather than feature maps. */
        private final Set<String> flat = new HashSet<>();

        private final List<String> wanted;

        /** A compiler of the vertices {@code wanted} and what they need (a wanted vertex is not fused into). */
        Compiler(ComputationGraph graph, List<String> wanted) {
            this.graph = graph;
            this.conf = graph.getConfiguration();
            this.wanted = wanted;
            for (String o : wanted) {
                if (!conf.getVertices().containsKey(o) && !conf.getNetworkInputs().contains(o)) {
                    throw new IllegalArgumentException("the graph has no vertex '" + o + "'");
                }
            }
            conf.getVertexInputs().values().forEach(ins -> ins.forEach(i -> consumers.merge(i, 1, Integer::sum)));
            wanted.forEach(o -> consumers.merge(o, 1, Integer::sum));
        }

        CompiledGraph compile() {
            if (conf.getNetworkInputs().size() != 1) {
                throw new UnsupportedOperationException("compiled inference takes graphs with one input, this one has "
                        + conf.getNetworkInputs().size());
            }
            String input = conf.getNetworkInputs().get(0);
            for (int index : graph.topologicalSortOrder()) {
                String name = graph.getVertices()[index].getVertexName();
                if (!name.equals(input)) {
                    add(name, conf.getVertices().get(name), conf.getVertexInputs().get(name));
                }
            }
            List<String> outputs = new ArrayList<>();
            for (String o : wanted) {
                String value = value(o);
                if (value.equals(input)) {
                    throw new UnsupportedOperationException("output '" + o + "' is the graph's input");
                }
                outputs.add(value);
            }
            List<Op> ops = needed(outputs);
            return new CompiledGraph(input, ops, outputs, layout(input, ops));
        }

        /** The operations the outputs need, in order: those of other outputs of the graph left out. */
        private List<Op> needed(List<String> outputs) {
            Set<String> needed = new HashSet<>(outputs);
            List<Op> ops = new ArrayList<>(producer.values());
            List<Op> kept = new ArrayList<>();
            for (int i = ops.size() - 1; i >= 0; i--) {
                if (needed.contains(ops.get(i).out())) {
                    needed.addAll(ops.get(i).in());
                    kept.add(0, ops.get(i));
                }
            }
            return kept;
        }

        private void add(String name, org.deeplearning4j.nn.conf.graph.GraphVertex vertex, List<String> inputs) {
            if (vertex instanceof MergeVertex) {
                for (String i : inputs) {
                    requireMaps(name, i);
                }
                put(new Concat(name, inputs.stream().map(this::value).toList()));
                return;
            }
            if (!(vertex instanceof LayerVertex lv) || inputs.size() != 1) {
                throw unsupported(name, vertex.getClass().getSimpleName());
            }
            if (lv.getPreProcessor() != null) {
                throw unsupported(name, "input preprocessor " + lv.getPreProcessor().getClass().getSimpleName());
            }
            String in = inputs.get(0);
            org.deeplearning4j.nn.conf.layers.Layer layer = lv.getLayerConf().getLayer();
            Layer runtime = graph.getVertex(name).getLayer();
            if (layer instanceof DropoutLayer) {
                alias.put(name, in); // inference: the identity
            } else if (layer instanceof ActivationLayer a && a.getActivationFn() instanceof ActivationIdentity) {
                alias.put(name, in);
            } else if (layer instanceof ActivationLayer a && new ActivationReLU().equals(a.getActivationFn())) {
                requireMaps(name, in);
                relu(name, in);
            } else if (layer.getClass() == ConvolutionLayer.class) {
                requireMaps(name, in);
                conv(name, in, (ConvolutionLayer) layer, runtime);
            } else if (layer instanceof BatchNormalization bn) {
                requireMaps(name, in);
                batchNorm(name, in, bn, runtime);
            } else if (layer instanceof SubsamplingLayer s && s.getClass() == SubsamplingLayer.class) {
                requireMaps(name, in);
                pool(name, in, s);
            } else if (layer instanceof GlobalPoolingLayer gp) {
                requireMaps(name, in);
                globalPool(name, in, gp);
            } else if (layer instanceof DenseLayer || layer.getClass() == OutputLayer.class) {
                if (!flat.contains(value(in))) {
                    throw unsupported(name, "a dense layer on feature maps (only after global pooling)");
                }
                IActivation activation = ((org.deeplearning4j.nn.conf.layers.BaseLayer) layer).getActivationFn();
                INDArray w = runtime.getParam("W"); // [in, out]: as oneDNN's [out, in] weights, strides (1, out)
                INDArray b = runtime.getParam("b");
                memory.desc plain = new memory.desc(new long[] {w.size(1), w.size(0)}, memory.data_type.f32,
                        new long[] {1, w.size(1)});
                put(new Dense(name, value(in), w.size(0), w.size(1), new Weights(w.dup('c').data().asFloat(), plain,
                        b == null ? null : b.dup('c').data().asFloat()), activation));
                flat.add(name);
            } else {
                throw unsupported(name, layer.getClass().getSimpleName());
            }
        }

        private void conv(String name, String in, ConvolutionLayer c, Layer runtime) {
            boolean relu = new ActivationReLU().equals(c.getActivationFn());
            if (!relu && !(c.getActivationFn() instanceof ActivationIdentity)) {
                throw unsupported(name, "activation " + c.getActivationFn());
            }
            if (c.getCnn2dDataFormat() != CNN2DFormat.NCHW || c.getDilation()[0] != 1 || c.getDilation()[1] != 1
                    || c.getConvolutionMode() == ConvolutionMode.Causal) {
                throw unsupported(name, "an NHWC, dilated or causal convolution");
            }
            INDArray w = runtime.getParam("W");
            INDArray b = c.hasBias() ? runtime.getParam("b") : null;
            put(new Conv(name, value(in), w.shape(), w.dup('c').data().asFloat(),
                    b == null ? null : b.dup('c').data().asFloat(), c.getStride(), c.getPadding(),
                    c.getConvolutionMode(), relu));
        }

        private void batchNorm(String name, String in, BatchNormalization bn, Layer runtime) {
            long channels = runtime.getParam("mean").length();
            float[] gamma = bn.isLockGammaBeta() ? filledWith(channels, bn.getGamma()) : floats(runtime, "gamma");
            float[] beta = bn.isLockGammaBeta() ? filledWith(channels, bn.getBeta()) : floats(runtime, "beta");
            float[] var;
            if (bn.isUseLogStd()) { // DL4J keeps log10 of the standard deviation: var = (10^log10std)^2
                float[] log10Std = floats(runtime, "log10stdev");
                var = new float[log10Std.length];
                for (int i = 0; i < var.length; i++) {
                    var[i] = (float) Math.pow(10, 2.0 * log10Std[i]);
                }
            } else {
                var = floats(runtime, "var");
            }
            // DL4J 1.0.0-M2.1's BatchNormalization ignores an activation set on it, and so does this.
            Norm norm = new Norm(name, value(in), gamma, beta, floats(runtime, "mean"), var, (float) bn.getEps());
            if (producer.get(soleReader(in)) instanceof Conv conv && !conv.relu) {
                conv.fold(norm);
                alias.put(name, in);
            } else {
                put(norm);
            }
        }

        private void relu(String name, String in) {
            Op before = producer.get(soleReader(in));
            if (before instanceof Conv conv && !conv.relu) {
                conv.relu = true;
                alias.put(name, in);
            } else if (before instanceof Norm norm && !norm.relu) {
                norm.relu = true;
                alias.put(name, in);
            } else {
                put(new Relu(name, value(in)));
            }
        }

        private void pool(String name, String in, SubsamplingLayer s) {
            if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG
                    || s.getCnn2dDataFormat() != CNN2DFormat.NCHW || s.getDilation()[0] != 1
                    || s.getDilation()[1] != 1 || s.getConvolutionMode() == ConvolutionMode.Causal) {
                throw unsupported(name, s.getPoolingType() + " pooling of this kind (NHWC, dilated or causal)");
            }
            put(new Pool(name, value(in), s.getPoolingType() == PoolingType.MAX, s.isAvgPoolIncludePadInDivisor(),
                    s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode()));
        }

        private void globalPool(String name, String in, GlobalPoolingLayer gp) {
            int[] dims = gp.getPoolingDimensions();
            if (gp.getPoolingType() != PoolingType.MAX && gp.getPoolingType() != PoolingType.AVG
                    || !gp.isCollapseDimensions() || dims != null && !Arrays.equals(dims, new int[] {2, 3})) {
                throw unsupported(name, "global pooling other than max or average over height and width");
            }
            put(new GlobalPool(name, value(in), gp.getPoolingType() == PoolingType.MAX));
            flat.add(name);
        }

        private void put(Op op) {
            producer.put(op.out(), op);
        }

        /** The value a vertex stands for. */
        private String value(String vertex) {
            String v = vertex;
            while (alias.containsKey(v)) {
                v = alias.get(v);
            }
            return v;
        }

        /**
         * The value {@code vertex} stands for when the vertex about to be added is its only reader (and
         * that of every vertex between), so that it may be fused into the operation that makes it;
         * else null.
         */
        private String soleReader(String vertex) {
            String v = vertex;
            while (true) {
                if (consumers.getOrDefault(v, 0) != 1) {
                    return null;
                }
                if (!alias.containsKey(v)) {
                    return v;
                }
                v = alias.get(v);
            }
        }

        private void requireMaps(String name, String in) {
            if (flat.contains(value(in))) {
                throw unsupported(name, "a feature-map layer after global pooling");
            }
        }

        private UnsupportedOperationException unsupported(String name, String what) {
            return new UnsupportedOperationException("cannot compile vertex '" + name + "' (" + what
                    + "): compiled inference runs convolution, batch-norm, ReLU, dropout, pooling, merge and "
                    + "dense/output layers; use the graph's own output() for this one");
        }

        private static float[] floats(Layer layer, String param) {
            return layer.getParam(param).dup('c').data().asFloat();
        }

        private static float[] filledWith(long n, double value) {
            float[] a = new float[(int) n];
            Arrays.fill(a, (float) value);
            return a;
        }

        /**
         * oneDNN's blocked layout when every feature map's channel count fills whole blocks (16 with
         * AVX-512, 8 otherwise), else NHWC. The graph's input is exempt: its first convolution reads it
         * as NCHW. {@code -Ddensenet4j.compiledLayout=nchw|nhwc|nChw8c|nChw16c} sets it, for comparisons.
         */
        private static memory.format_tag layout(String input, List<Op> ops) {
            String forced = System.getProperty("densenet4j.compiledLayout");
            memory.format_tag tag = forced != null ? memory.format_tag.valueOf(forced) : OneDnn.BLOCKED;
            int block = tag == memory.format_tag.nChw16c ? 16 : tag == memory.format_tag.nChw8c ? 8 : 1;
            Map<String, Long> channels = channels(input, 0, ops);
            for (Op op : ops) {
                if (!(op instanceof Dense) && channels.get(op.out()) % block != 0) {
                    if (forced != null) {
                        throw new IllegalArgumentException("-Ddensenet4j.compiledLayout=" + forced + ": '" + op.out()
                                + "' has " + channels.get(op.out()) + " channels, not whole blocks of " + block);
                    }
                    return memory.format_tag.nhwc;
                }
            }
            return tag;
        }
    }

    /** The channels (features) of every value, from those of the input. */
    private static Map<String, Long> channels(String input, long inputChannels, List<Op> ops) {
        Map<String, Long> channels = new HashMap<>();
        channels.put(input, inputChannels);
        for (Op op : ops) {
            channels.put(op.out(), op.channels(op.in().stream().map(channels::get).toList()));
        }
        return channels;
    }

    /** A oneDNN memory of {@code desc} holding {@code values} (in the plain layout {@code desc} names). */
    private static memory filled(memory.desc desc, float[] values) {
        memory m = new memory(desc, OneDnn.ENGINE);
        new FloatPointer(m.get_data_handle()).put(values);
        return m;
    }

    // ---------------------------------------------------------------------------------------------
    // Plans: the operations for one input shape, as primitives over planned buffers.

    /** One step of a plan, run in order. */
    private interface Step {
        void run(Map<String, INDArray> arrays, stream s);

        /** What the step does: the value it works on, oneDNN's primitive and its implementation. */
        String label();

        primitive primitive();

        IntMemoryMap args();
    }

    private record Primitive(primitive primitive, IntMemoryMap args, String label) implements Step {
        @Override
        public void run(Map<String, INDArray> arrays, stream s) {
            primitive.execute(s, args);
        }
    }

    /**
     * A primitive that writes a new array of the caller's (an output, or [N, F] features): the array
     * is made on each call and {@code views} (memories of its data, as the primitive and later readers
     * see it) bound to it; DL4J's activation function is then applied in place, unless null.
     */
    private record ToArray(String name, long[] shape, primitive primitive, IntMemoryMap args, List<memory> views,
            IActivation activation, String label) implements Step {
        @Override
        public void run(Map<String, INDArray> arrays, stream s) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            for (memory view : views) {
                view.set_data_handle(HostArrays.pointer(out));
            }
            primitive.execute(s, args);
            if (activation != null) {
                s._wait();
                INDArray activated = activation.getActivation(out, false);
                if (activated != out) {
                    out.assign(activated);
                }
            }
            arrays.put(name, out);
        }
    }

    /** A feature map in a plan: its layout and dimensions, in memory bound to a buffer slot. */
    /**
     * A feature map in a plan: its layout and dimensions, in memory bound to a buffer slot. A map that
     * is a prefix of a larger buffer (a concatenation extended in place, batch above 1) also has
     * {@code images}: each image's part as a dense map of one image, for primitives that read only
     * dense memory.
     */
    private record Value(memory memory, long[] dims, int slot, List<memory> images) {
        Value(memory memory, long[] dims, int slot) {
            this(memory, dims, slot, List.of());
        }

        memory.desc desc() {
            return memory.get_desc();
        }
    }

    /**
     * Buffers shared by the plan's feature maps: a map takes the smallest free buffer that holds it
     * and gives it back after its last reader, so a plan needs a few buffers, not one per layer.
     */
    private static final class Slots {
        private final List<Long> capacity = new ArrayList<>();
        private final List<Boolean> free = new ArrayList<>();
        private final List<List<Placed>> users = new ArrayList<>();
        private final List<memory> owned = new ArrayList<>();

        int take(long bytes) {
            int best = -1; // the smallest free buffer that holds it, else the largest free one (to grow)
            for (int i = 0; i < capacity.size(); i++) {
                if (free.get(i) && (best < 0 || better(i, best, bytes))) {
                    best = i;
                }
            }
            if (best < 0) {
                capacity.add(bytes);
                free.add(true);
                users.add(new ArrayList<>());
                best = capacity.size() - 1;
            }
            capacity.set(best, Math.max(bytes, capacity.get(best)));
            free.set(best, false);
            return best;
        }

        private boolean better(int slot, int than, long bytes) {
            boolean fits = capacity.get(slot) >= bytes;
            boolean thanFits = capacity.get(than) >= bytes;
            if (fits != thanFits) {
                return fits;
            }
            return fits ? capacity.get(slot) < capacity.get(than) : capacity.get(slot) > capacity.get(than);
        }

        void release(int slot) {
            free.set(slot, true);
        }

        private record Placed(memory memory, long offset) {
        }

        /** A memory of {@code desc} over slot {@code slot}'s buffer (bound when the buffers exist). */
        memory over(int slot, memory.desc desc) {
            return over(slot, desc, 0);
        }

        /** A memory of {@code desc} starting {@code offset} bytes into slot {@code slot}'s buffer. */
        memory over(int slot, memory.desc desc, long offset) {
            memory m = OneDnn.unbound(desc);
            users.get(slot).add(new Placed(m, offset));
            return m;
        }

        /** Adds the buffers and the memories made over them to {@code natives}. */
        void addTo(Set<Pointer> natives) {
            users.forEach(placed -> placed.forEach(p -> natives.add(p.memory())));
            natives.addAll(owned);
        }

        /** Allocates the buffers (64-byte aligned, by oneDNN) and binds every memory made over them. */
        long allocate() {
            long total = 0;
            for (int i = 0; i < capacity.size(); i++) {
                memory buffer = new memory(new memory.desc(new long[] {capacity.get(i)}, memory.data_type.u8,
                        memory.format_tag.a), OneDnn.ENGINE);
                owned.add(buffer);
                total += capacity.get(i);
                long base = buffer.get_data_handle().address();
                for (Placed p : users.get(i)) {
                    p.memory().set_data_handle(HostArrays.at(base + p.offset()));
                }
            }
            return total;
        }
    }

    /** The compiled graph for one input shape. */
    private final class Plan {
        private final memory inputMemory;
        private final List<Step> steps = new ArrayList<>();
        private final Map<String, Value> values = new HashMap<>();
        /** Values converted to the plan's layout (the input, when a primitive cannot read NCHW). */
        private final Map<String, Value> inLayout = new HashMap<>();
        private final Map<String, Integer> lastRead = new HashMap<>();
        private final Slots slots = new Slots();
        private final Map<String, Long> channels;
        /**
         * Concatenations built in place: each value of a chain (a dense block's successive
         * concatenations) is a prefix of one buffer sized for the chain's last, so that extending it
         * copies only the new maps. Value to the chain's last concatenation.
         */
        private final Map<String, String> chainEnd = new HashMap<>();
        /** oneDNN's scratch space, one buffer for every primitive (they run one after another). */
        private final List<memory> scratch = new ArrayList<>();
        private long scratchBytes;
        /** The value the operation being planned makes, for the steps' labels. */
        private String current;

        Plan(long[] shape) {
            inputMemory = OneDnn.unbound(new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw));
            values.put(input, new Value(inputMemory, shape, -1));
            channels = channels(input, shape[1], ops);
            for (int i = 0; i < ops.size(); i++) {
                for (String in : ops.get(i).in()) {
                    lastRead.put(in, i);
                }
            }
            findChains();
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                current = op.out();
                try {
                    add(op);
                } catch (IllegalArgumentException e) {
                    throw e;
                } catch (RuntimeException e) { // oneDNN's error
                    throw new IllegalArgumentException("layer '" + op.out() + "' cannot run on input shape "
                            + Arrays.toString(shape) + ": " + e.getMessage(), e);
                }
                Value made = values.get(op.out());
                if (outputs.contains(op.out()) && made.dims().length == 4) { // [N, F] values are arrays already
                    toArray(op.out(), made, made.dims());
                }
                for (String in : op.in()) {
                    if (lastRead.get(in) == i) {
                        release(in);
                    }
                }
            }
            slots.allocate();
            memory buffer = new memory(new memory.desc(new long[] {Math.max(scratchBytes, 1)}, memory.data_type.u8,
                    memory.format_tag.a), OneDnn.ENGINE);
            scratch.add(buffer);
            for (memory m : scratch) {
                m.set_data_handle(buffer.get_data_handle());
            }
        }

        /**
         * Chains concatenations whose first input is a concatenation no other one extends, in layouts
         * where a prefix of the channels is contiguous per image (blocked or NCHW, not NHWC); a chain's
         * buffer lives until the last read of any of its values.
         */
        private void findChains() {
            if (layout == memory.format_tag.nhwc || !FastPath.partOn("inPlaceConcat")) {
                return;
            }
            List<Concat> concats = ops.stream().filter(Concat.class::isInstance).map(Concat.class::cast).toList();
            Map<String, Integer> extensions = new HashMap<>();
            concats.forEach(c -> extensions.merge(c.source(), 1, Integer::sum));
            Set<String> concatValues = new HashSet<>();
            Map<String, String> next = new HashMap<>();
            for (Concat c : concats) {
                String first = c.source();
                if (concatValues.contains(first) && extensions.get(first) == 1
                        && !c.in().subList(1, c.in().size()).contains(first)) {
                    next.put(first, c.out());
                }
                concatValues.add(c.out());
            }
            for (int i = concats.size() - 1; i >= 0; i--) { // the last first, so that each end is known
                String c = concats.get(i).out();
                chainEnd.put(c, next.containsKey(c) ? chainEnd.get(next.get(c)) : c);
            }
            Map<String, Integer> chainLastRead = new HashMap<>();
            chainEnd.forEach((c, end) -> chainLastRead.merge(end, lastRead.getOrDefault(c, -1), Math::max));
            chainEnd.forEach((c, end) -> lastRead.put(c, chainLastRead.get(end)));
        }

        /** Frees the plan's buffers, primitives and memories, each once (values share memories). */
        void release() {
            Set<Pointer> natives = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Step step : steps) {
                natives.add(step.primitive());
                natives.add(step.args());
                if (step instanceof ToArray toArray) {
                    natives.addAll(toArray.views());
                }
            }
            slots.addTo(natives);
            natives.addAll(scratch);
            for (Value v : values.values()) {
                natives.add(v.memory());
                natives.addAll(v.images());
            }
            natives.add(inputMemory);
            natives.forEach(Pointer::close);
        }

        INDArray[] run(INDArray x) {
            inputMemory.set_data_handle(HostArrays.pointer(x));
            Map<String, INDArray> arrays = new HashMap<>();
            stream s = OneDnn.STREAM.get();
            for (Step step : steps) {
                step.run(arrays, s);
            }
            s._wait();
            return outputs.stream().map(arrays::get).toArray(INDArray[]::new);
        }

        private void add(Op op) {
            if (op instanceof Conv c) {
                conv(c);
            } else if (op instanceof Norm n) {
                norm(n);
            } else if (op instanceof Relu r) {
                relu(r);
            } else if (op instanceof Pool p) {
                pool(p);
            } else if (op instanceof GlobalPool g) {
                globalPool(g);
            } else if (op instanceof Concat c) {
                concat(c);
            } else if (op instanceof Dense d) {
                dense(d);
            }
        }

        private void conv(Conv c) {
            Value src = values.get(c.source());
            if (src.dims()[1] != c.shape[1]) {
                throw new IllegalArgumentException("layer '" + c.out + "' expects " + c.shape[1]
                        + " input channels, got " + src.dims()[1]);
            }
            ConvGeometry g = ConvGeometry.of(src.dims(), c.shape, c.strides, c.pad, c.mode).fitting(c.out);
            memory.desc dstDesc = mapDesc(g.dst());
            convolution_forward.primitive_desc pd = convolution(g, src.desc(), dstDesc, c);
            if (referenceOnly(pd) && !src.desc().equals(mapDesc(src.dims()))) {
                src = inLayout(c.source()); // oneDNN's fast kernels do not read this layout: convert first
                pd = convolution(g, src.desc(), dstDesc, c);
            }
            if (referenceOnly(pd)) {
                // Not in the plan's layout either (a first convolution on one channel into NHWC, say):
                // the layouts oneDNN picks for itself, with conversions around.
                memory.desc any = new memory.desc(src.dims(), memory.data_type.f32, memory.format_tag.any);
                var own = convolution(g, any, new memory.desc(g.dst(), memory.data_type.f32, memory.format_tag.any), c);
                if (!referenceOnly(own)) {
                    convolution(c, own, convertedTo(values.get(c.source()), own.src_desc()), g.dst());
                    return;
                }
            }
            convolution(c, pd, src, g.dst());
        }

        /** The convolution step reading {@code src}; its output converted to the plan's layout if it is not in it. */
        private void convolution(Conv c, convolution_forward.primitive_desc pd, Value src, long[] dims) {
            Value dst = produce(c.out, dims);
            Value out = pd.dst_desc().equals(dst.desc()) ? dst : temporary(pd.dst_desc(), dims);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(), dnnl.DNNL_ARG_DST, out.memory());
            c.weights.addTo(args, pd.weights_desc());
            then(new convolution_forward(pd), pd, args);
            if (src != values.get(c.source()) && src != inLayout.get(c.source())) {
                slots.release(src.slot());
            }
            if (out != dst) {
                copy(out.memory(), dst.memory());
                slots.release(out.slot());
            }
        }

        private convolution_forward.primitive_desc convolution(ConvGeometry g, memory.desc src, memory.desc dst,
                Conv c) {
            return new convolution_forward.primitive_desc(new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                    dnnl.algorithm.convolution_direct, src,
                    new memory.desc(g.weights(), memory.data_type.f32, memory.format_tag.any),
                    c.weights.bias != null ? g.bias() : new memory.desc(), dst, g.strides(), g.padLeft(),
                    g.padRight()), attr(c.relu), OneDnn.ENGINE);
        }

        /** {@code v} itself when it is in layout {@code desc}, else a temporary converted copy. */
        private Value convertedTo(Value v, memory.desc desc) {
            if (v.desc().equals(desc)) {
                return v;
            }
            Value copy = temporary(desc, v.dims());
            copy(v.memory(), copy.memory());
            return copy;
        }

        /** A map in layout {@code desc} in a free buffer, for the caller to release once read. */
        private Value temporary(memory.desc desc, long[] dims) {
            int slot = slots.take(desc.get_size());
            return new Value(slots.over(slot, desc), dims, slot);
        }

        private void norm(Norm n) {
            if (!values.get(n.source()).images().isEmpty()) {
                normPerImage(n, values.get(n.source()));
                return;
            }
            Value src = inLayout(n.source());
            var pd = normalization(n, src.desc());
            Value dst = produce(n.out, src.dims());
            memory[] p = n.parameters();
            then(new batch_normalization_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                    dnnl.DNNL_ARG_DST, dst.memory(), dnnl.DNNL_ARG_MEAN, p[0], dnnl.DNNL_ARG_VARIANCE, p[1],
                    dnnl.DNNL_ARG_SCALE, p[2], dnnl.DNNL_ARG_SHIFT, p[3]));
        }

        /** Batch norm of a view into a larger buffer, image by image (oneDNN's fast kernels read dense maps only). */
        private void normPerImage(Norm n, Value src) {
            long[] d = src.dims();
            memory.desc image = mapDesc(new long[] {1, d[1], d[2], d[3]});
            var pd = normalization(n, image);
            primitive norm = new batch_normalization_forward(pd);
            Value dst = produce(n.out, d);
            memory[] p = n.parameters();
            for (int i = 0; i < d[0]; i++) {
                memory out = slots.over(dst.slot(), image, i * image.get_size());
                then(norm, pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.images().get(i), dnnl.DNNL_ARG_DST, out,
                        dnnl.DNNL_ARG_MEAN, p[0], dnnl.DNNL_ARG_VARIANCE, p[1], dnnl.DNNL_ARG_SCALE, p[2],
                        dnnl.DNNL_ARG_SHIFT, p[3]));
            }
        }

        private batch_normalization_forward.primitive_desc normalization(Norm n, memory.desc src) {
            int flags = BN_FLAGS | (n.relu ? dnnl.normalization_flags.fuse_norm_relu.value : 0);
            return new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_inference.value, src, n.eps, flags), attr(), OneDnn.ENGINE);
        }

        private void relu(Relu r) {
            Value src = inLayout(r.source());
            var pd = new eltwise_forward.primitive_desc(new eltwise_forward.desc(dnnl.prop_kind.forward_inference,
                    dnnl.algorithm.eltwise_relu, src.desc(), 0f, 0f), attr(), OneDnn.ENGINE);
            Value dst = produce(r.out(), src.dims());
            then(new eltwise_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                    dnnl.DNNL_ARG_DST, dst.memory()));
        }

        private void pool(Pool p) {
            Value src = inLayout(p.source());
            long[] d = src.dims();
            ConvGeometry g = ConvGeometry.of(d, new long[] {d[1], d[1], p.kernel[0], p.kernel[1]},
                    p.strides, p.pad, p.mode).fitting(p.out());
            dnnl.algorithm algorithm = p.max ? dnnl.algorithm.pooling_max
                    : p.includePadding ? dnnl.algorithm.pooling_avg_include_padding
                    : dnnl.algorithm.pooling_avg_exclude_padding;
            pooling(p.out(), src, algorithm, g.dst(), g.strides(), g.kernel(), g.padLeft(), g.padRight());
        }

        private void globalPool(GlobalPool p) {
            Value src = inLayout(p.source());
            long[] d = src.dims();
            long[] pooled = {d[0], d[1], 1, 1};
            Value dst = pooling(p.out() + "#maps", src, p.max ? dnnl.algorithm.pooling_max
                    : dnnl.algorithm.pooling_avg_exclude_padding, pooled, new long[] {1, 1},
                    new long[] {d[2], d[3]}, new long[] {0, 0}, new long[] {0, 0});
            toArray(p.out(), dst, new long[] {d[0], d[1]});
            slots.release(dst.slot());
        }

        /** The inner product into a new [N, out] array, which later steps read as a flat value. */
        private void dense(Dense d) {
            Value src = values.get(d.source());
            if (src.dims()[1] != d.inputs) {
                throw new IllegalArgumentException("layer '" + d.out() + "' expects " + d.inputs
                        + " features, got " + src.dims()[1]);
            }
            long[] shape = {src.dims()[0], d.outputs};
            memory.desc dstDesc = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nc);
            var pd = new inner_product_forward.primitive_desc(new inner_product_forward.desc(
                    dnnl.prop_kind.forward_inference, src.desc(),
                    new memory.desc(new long[] {d.outputs, d.inputs}, memory.data_type.f32, memory.format_tag.any),
                    d.weights.bias != null ? new memory.desc(new long[] {d.outputs}, memory.data_type.f32,
                            memory.format_tag.a) : new memory.desc(), dstDesc), attr(d.relu()), OneDnn.ENGINE);
            memory dst = OneDnn.unbound(dstDesc);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(), dnnl.DNNL_ARG_DST, dst);
            d.weights.addTo(args, pd.weights_desc());
            scratch(pd, args);
            steps.add(new ToArray(d.out(), shape, new inner_product_forward(pd), args, List.of(dst),
                    d.relu() || d.identity() ? null : d.activation, label(pd)));
            values.put(d.out(), new Value(dst, shape, -1));
        }

        private Value pooling(String out, Value src, dnnl.algorithm algorithm, long[] dstDims, long[] strides,
                long[] kernel, long[] padLeft, long[] padRight) {
            var pd = new pooling_forward.primitive_desc(new pooling_forward.desc(dnnl.prop_kind.forward_inference,
                    algorithm, src.desc(), mapDesc(dstDims), strides, kernel, padLeft, padRight), attr(),
                    OneDnn.ENGINE);
            Value dst = produce(out, dstDims);
            then(new pooling_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                    dnnl.DNNL_ARG_DST, dst.memory()));
            return dst;
        }

        /**
         * Concatenation along the channels: each input copied into its place in the output; in a chain,
         * into the chain's buffer after the concatenation it extends, which is already there.
         */
        private void concat(Concat c) {
            long[] first = values.get(c.in().get(0)).dims();
            long total = 0;
            for (String name : c.in()) {
                long[] d = values.get(name).dims();
                if (d[0] != first[0] || d[2] != first[2] || d[3] != first[3]) {
                    throw new IllegalArgumentException("merge '" + c.out() + "': input '" + name + "' is "
                            + Arrays.toString(d) + ", expected the size of " + Arrays.toString(first));
                }
                total += d[1];
            }
            long[] dims = {first[0], total, first[2], first[3]};
            String end = chainEnd.getOrDefault(c.out(), c.out()); // itself when not in a chain
            boolean extension = chainEnd.containsKey(c.in().get(0)) && chainEnd.get(c.in().get(0)).equals(end);
            memory.desc buffer = mapDesc(new long[] {dims[0], channels.get(end), dims[2], dims[3]});
            int slot = extension ? values.get(c.in().get(0)).slot() : slots.take(buffer.get_size());
            long offset = extension ? first[1] : 0;
            for (String name : extension ? c.in().subList(1, c.in().size()) : c.in()) {
                Value v = inLayout(name);
                memory part = slots.over(slot, buffer.submemory_desc(v.dims(), new long[] {0, offset, 0, 0}));
                copy(v.memory(), part);
                offset += v.dims()[1];
            }
            values.put(c.out(), prefix(slot, buffer, dims));
        }

        /**
         * The first {@code dims[1]} channels of {@code buffer} (in slot {@code slot}) as a value: a dense
         * map for one image, else a view with each image's part as a dense map of its own.
         */
        private Value prefix(int slot, memory.desc buffer, long[] dims) {
            if (dims[1] == buffer.dims().get(1) || dims[0] == 1) {
                return new Value(slots.over(slot, mapDesc(dims)), dims, slot);
            }
            long[] image = {1, dims[1], dims[2], dims[3]};
            long imageBytes = buffer.get_size() / dims[0];
            List<memory> images = new ArrayList<>();
            for (int i = 0; i < dims[0]; i++) {
                images.add(slots.over(slot, mapDesc(image), i * imageBytes));
            }
            return new Value(slots.over(slot, buffer.submemory_desc(dims, new long[4])), dims, slot, images);
        }

        /** A feature map's dims in the plan's layout. */
        private memory.desc mapDesc(long[] dims) {
            return new memory.desc(dims, memory.data_type.f32, layout);
        }

        /** Value {@code name} in the plan's layout: itself, or a converted copy made once. */
        private Value inLayout(String name) {
            Value v = values.get(name);
            memory.desc wanted = mapDesc(v.dims());
            if (v.desc().equals(wanted)) {
                return v;
            }
            return inLayout.computeIfAbsent(name, n -> convertedTo(v, wanted));
        }

        /** A new feature map {@code name} in the plan's layout, in a free buffer. */
        private Value produce(String name, long[] dims) {
            Value v = temporary(mapDesc(dims), dims);
            values.put(name, v);
            return v;
        }

        private void release(String name) {
            Value v = values.get(name);
            if (v != null && v.slot() >= 0) {
                slots.release(v.slot());
            }
            Value converted = inLayout.get(name);
            if (converted != null && converted.slot() >= 0) {
                slots.release(converted.slot());
            }
        }

        /**
         * Copies feature map {@code v} out into a new NCHW array of {@code shape} on each call; a
         * pooled [N, C, 1, 1] map becomes value {@code name}, [N, C] features later steps read.
         */
        private void toArray(String name, Value v, long[] shape) {
            memory to = OneDnn.unbound(new memory.desc(v.dims(), memory.data_type.f32, memory.format_tag.nchw));
            List<memory> views = new ArrayList<>(List.of(to));
            if (shape.length == 2) {
                memory flatView = OneDnn.unbound(new memory.desc(shape, memory.data_type.f32, memory.format_tag.nc));
                views.add(flatView);
                values.put(name, new Value(flatView, shape, -1));
            }
            steps.add(new ToArray(name, shape, new reorder(v.memory(), to),
                    OneDnn.args(dnnl.DNNL_ARG_FROM, v.memory(), dnnl.DNNL_ARG_TO, to), views, null,
                    name + ": out to an array"));
        }

        /** Attributes every primitive gets: scratch space from the plan's shared buffer. */
        private primitive_attr attr() {
            return attr(false);
        }

        /** The attributes, with a ReLU after the primitive's own work when {@code relu}. */
        private primitive_attr attr(boolean relu) {
            primitive_attr attr = new primitive_attr();
            attr.set_scratchpad_mode(dnnl.scratchpad_mode.user);
            if (relu) {
                post_ops ops = new post_ops();
                ops.append_eltwise(1f, dnnl.algorithm.eltwise_relu, 0f, 0f);
                attr.set_post_ops(ops);
            }
            return attr;
        }

        /** Adds {@code p} as the next step, with the plan's scratch buffer. */
        private void then(primitive p, primitive_desc_base pd, IntMemoryMap args) {
            scratch(pd, args);
            steps.add(new Primitive(p, args, label(pd)));
        }

        /** Adds a conversion (or copy) of {@code from} into {@code to} as the next step. */
        private void copy(memory from, memory to) {
            steps.add(new Primitive(new reorder(from, to),
                    OneDnn.args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to), current + ": reorder"));
        }

        private String label(primitive_desc_base pd) {
            return current + ": " + pd.impl_info_str().getString();
        }

        /** The plan's scratch buffer as {@code pd}'s scratch-space argument. */
        private void scratch(primitive_desc_base pd, IntMemoryMap args) {
            memory.desc scratchDesc = pd.scratchpad_desc();
            scratchBytes = Math.max(scratchBytes, scratchDesc.get_size());
            memory m = OneDnn.unbound(scratchDesc);
            scratch.add(m);
            args.put(dnnl.DNNL_ARG_SCRATCHPAD, m);
        }


        private static boolean referenceOnly(primitive_desc_base pd) {
            return pd.impl_info_str().getString().startsWith("ref");
        }
    }
}
