package org.densenet4j.engine;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

import org.bytedeco.dnnl.memory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.GraphReader;
import org.densenet4j.engine.ir.Passes;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>In {@link Precision#BF16} ({@link EngineOptions#withPrecision}, {@code -Ddensenet4j.precision=bf16})
 * the weights and feature maps are bfloat16 and oneDNN sums in fp32; the input is converted at the
 * start, and pooled features, the classifier and the outputs stay fp32. On CPUs with AMX the
 * feature maps are NHWC (oneDNN's AMX convolutions read only that) and DenseNet-121 runs in about a
 * third of fp32's time; the outputs differ from fp32's by bf16's rounding (0.5% of the logits' scale
 * for DenseNet-121). Where the CPU has neither AMX nor AVX512_BF16 it runs fp32 and says so once;
 * {@link #precision()} tells which ran. {@link #describe} names each step's number format.
 *
 * <p>The compiled graph holds a snapshot of the parameters taken by {@link #compile}: compile again
 * after training or changing them. It runs what DenseNet and similar convolutional graphs are made of:
 * convolutions (NCHW, no dilation, identity or ReLU activation), batch normalisation, ReLU and dropout
 * layers, max and average pooling, global pooling, channel concatenation (MergeVertex), elementwise
 * addition of feature maps (ElementWiseVertex with Op.Add: ResNet's residual connections, each sum and
 * the ReLU after it running inside the convolution making one of its terms), and dense or output
 * layers on the pooled features (any DL4J activation). For anything else {@link #compile} says which
 * vertex it cannot run. One input; one or more outputs; calls are serialised (use one compiled graph
 * per thread to run in parallel).
 *
 * <pre>{@code
 * ComputationGraph net = new DenseNet121().init();
 * CompiledGraph fast = CompiledGraph.compile(net);
 * INDArray probabilities = fast.output(images);   // [N, 1000], as net.outputSingle(images)
 * }</pre>
 */
public final class CompiledGraph implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CompiledGraph.class);
    /** Whether the fall-back from bf16 to fp32 has been logged. */
    private static final AtomicBoolean FELL_BACK = new AtomicBoolean();

    /** The graph after the inference passes: its outputs are the values the graph's outputs are, in order. */
    private final Graph ir;
    private final List<InferenceOp> ops;
    private final memory.format_tag layout;
    private final EngineOptions options;
    /** Plans of the input shapes used last: each holds its feature-map buffers, so only a few are kept. */
    private final OneDnn.Plans<InferencePlan> plans = new OneDnn.Plans<>(4);
    private boolean closed;

    private CompiledGraph(Graph ir, List<InferenceOp> ops, memory.format_tag layout, EngineOptions options) {
        this.ir = ir;
        this.ops = ops;
        this.layout = layout;
        this.options = options;
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
        return compile(graph, EngineOptions.fromSystemProperties(), outputs);
    }

    /**
     * As {@link #compile(ComputationGraph, String...)}, laid out and planned as {@code options} say;
     * no outputs named: the graph's own.
     */
    public static CompiledGraph compile(ComputationGraph graph, EngineOptions options, String... outputs) {
        if (!available()) {
            throw new UnsupportedOperationException(
                    "compiled inference needs ND4J's CPU backend and oneDNN's natives (org.bytedeco:dnnl)");
        }
        if (graph.getVertices() == null) {
            throw new IllegalStateException("the graph is not initialised: call init() first");
        }
        List<String> wanted = outputs.length == 0 ? graph.getConfiguration().getNetworkOutputs() : List.of(outputs);
        Graph ir = Passes.run(GraphReader.read(graph, GraphReader.Purpose.INFERENCE, wanted), Passes.INFERENCE);
        EngineOptions runs = options.withPrecision(effective(options.precision()));
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return new CompiledGraph(ir, InferenceOp.snapshot(ir, graph), Layouts.choose(ir, 0, runs), runs);
        }
    }

    /** {@code asked}, or fp32 where the CPU does not run bf16 natively (said once per process). */
    private static Precision effective(Precision asked) {
        Precision p = asked.effective();
        if (p != asked && FELL_BACK.compareAndSet(false, true)) {
            LOG.warn("bf16 inference needs a CPU with AVX512_BF16 or AMX (oneDNN uses {} here): running fp32",
                    OneDnn.isa());
        }
        return p;
    }

    /**
     * The zoo's default inference for {@code graph}: its compiled form where it compiles (oneDNN
     * {@link #available()}, every vertex supported), else the graph's own
     * {@code outputSingle(false, x)}, detached from its workspaces. Either way the function returns
     * the first output for an NCHW input, in an array of the caller's.
     */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph) {
        return inference(graph, EngineOptions.fromSystemProperties());
    }

    /** As {@link #inference(ComputationGraph)}, compiled as {@code options} say (in their precision, say). */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph, EngineOptions options) {
        return tryCompile(graph, options).<UnaryOperator<INDArray>>map(c -> c::outputSingle)
                .orElse(x -> graph.outputSingle(false, x).detach());
    }

    /**
     * As {@link #inference(ComputationGraph)}, for the activations of one vertex (pooled features,
     * say): the compiled part of the graph that computes it, else {@code graph.feedForward(x, false)}.
     */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph, String vertex) {
        return inference(graph, EngineOptions.fromSystemProperties(), vertex);
    }

    /** As {@link #inference(ComputationGraph, String)}, compiled as {@code options} say. */
    public static UnaryOperator<INDArray> inference(ComputationGraph graph, EngineOptions options, String vertex) {
        return tryCompile(graph, options, vertex).<UnaryOperator<INDArray>>map(c -> c::outputSingle)
                .orElse(x -> graph.feedForward(x, false).get(vertex).detach());
    }

    /**
     * {@code graph} compiled (for {@code outputs}, or its own outputs when none are named), or empty
     * where oneDNN is not {@link #available()} or a vertex is not supported.
     */
    public static Optional<CompiledGraph> tryCompile(ComputationGraph graph, String... outputs) {
        return tryCompile(graph, EngineOptions.fromSystemProperties(), outputs);
    }

    /** As {@link #tryCompile(ComputationGraph, String...)}, compiled as {@code options} say. */
    public static Optional<CompiledGraph> tryCompile(ComputationGraph graph, EngineOptions options, String... outputs) {
        if (!available()) {
            return Optional.empty();
        }
        try {
            return Optional.of(compile(graph, options, outputs));
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
            INDArray x = HostArrays.contiguous(input.dataType() == DataType.FLOAT ? input
                    : input.castTo(DataType.FLOAT));
            long[] shape = x.shape();
            return plan(shape).run(x);
        }
    }

    /**
     * The plan for inputs of {@code shape} ([N, C, H, W]), one line per step: the value it makes,
     * oneDNN's implementation ({@code brgconv:avx512_core}, {@code bnorm_jit:avx512_common}, ...;
     * {@code ref} ones are oneDNN's slow reference code) or what it copies, and the number format it
     * writes ({@code conv1: brgconv:avx512_core, f32}; {@code data: reorder, f32 -> bf16}).
     */
    public synchronized List<String> describe(long... shape) {
        checkOpen();
        if (shape.length != 4) {
            throw new IllegalArgumentException("expected a shape [N, C, H, W], got " + Arrays.toString(shape));
        }
        return plan(shape.clone()).labels();
    }

    private InferencePlan plan(long[] shape) {
        return plans.get(List.of(shape[0], shape[1], shape[2], shape[3]),
                () -> new InferencePlan(ir, ops, layout, options, shape));
    }

    /** The first (for DenseNet, the only) output for {@code input}: {@code graph.outputSingle(input)}. */
    public INDArray outputSingle(INDArray input) {
        return output(input)[0];
    }

    /**
     * The number format the compiled graph runs in: the options' precision, or fp32 where bf16 was
     * asked for and the CPU does not run it natively.
     */
    public Precision precision() {
        return options.precision();
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
        plans.drain(InferencePlan::release);
        ops.forEach(InferenceOp::release);
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
}
