package org.densenet4j.engine;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

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
 * global pooling over height and width, channel merges, elementwise additions (ElementWiseVertex with
 * Op.Add), dropout layers that drop nothing, and a softmax
 * {@link org.deeplearning4j.nn.conf.layers.OutputLayer} with multi-class cross-entropy after the global pooling: the
 * zoo's DenseNets and its ResNet.
 * {@link #compile} names the first vertex it cannot run; {@link #tryCompile} says so with an empty
 * result, and {@code graph.fit()} is then the way to train.
 */
public final class CompiledTrainer {

    private final ComputationGraph graph;
    /** The graph after the training passes; its last node is the output layer. */
    private final Graph ir;
    private final Node.Dense output;
    private final EngineOptions options;
    /** The layers whose parameters this trainer computes gradients for, by name. */
    private final Map<String, List<String>> paramKeys;
    private final OneDnn.Plans<TrainingPlan> plans = new OneDnn.Plans<>(2);
    /** The softmax probabilities of the last batch. */
    private float[] lastOutput;
    /** The updater's view of the gradient array, kept while the graph keeps that array. */
    private DefaultGradient gradient;
    /**
     * The fused parameter update, built on the first step (empty: DL4J's updater), rebuilt if the graph's arrays
     * change.
     */
    private Optional<ParameterUpdate> update;

    private CompiledTrainer(ComputationGraph graph, Graph ir, EngineOptions options,
            Map<String, List<String>> paramKeys) {
        this.graph = graph;
        this.ir = ir;
        this.output = (Node.Dense) ir.nodes().get(ir.nodes().size() - 1);
        this.options = options;
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
        return compile(graph, EngineOptions.fromSystemProperties());
    }

    /** As {@link #compile(ComputationGraph)}, laid out as {@code options} say. */
    public static CompiledTrainer compile(ComputationGraph graph, EngineOptions options) {
        if (!available()) {
            throw new UnsupportedOperationException("compiled training needs oneDNN's natives (the CPU backend)");
        }
        return TrainableGraph.check(graph, options);
    }

    /** The trainer of a graph {@link TrainableGraph} has checked. */
    static CompiledTrainer of(ComputationGraph graph, Graph ir, EngineOptions options,
            Map<String, List<String>> paramKeys) {
        return new CompiledTrainer(graph, ir, options, paramKeys);
    }

    /** The trainer of {@code graph}, or empty when it cannot run it (then train with {@code graph.fit()}). */
    public static Optional<CompiledTrainer> tryCompile(ComputationGraph graph) {
        return tryCompile(graph, EngineOptions.fromSystemProperties());
    }

    /** As {@link #tryCompile(ComputationGraph)}, laid out and planned as {@code options} say. */
    public static Optional<CompiledTrainer> tryCompile(ComputationGraph graph, EngineOptions options) {
        try {
            return Optional.of(compile(graph, options));
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
        double loss = meanLoss(features, batch.getLabels());
        int iteration = graph.getIterationCount();
        int epoch = graph.getEpochCount();
        Collection<TrainingListener> listeners = graph.getListeners();
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            for (TrainingListener l : listeners) {
                l.onGradientCalculation(graph);
            }
            Optional<ParameterUpdate> fused = fusedUpdate();
            double regularization;
            if (fused.isPresent()) {
                regularization = fused.get().apply(iteration, epoch, examples);
            } else {
                regularization = graph.calcRegularizationScore(true);
                graph.getUpdater().update(gradient(), iteration, epoch, examples, LayerWorkspaceMgr.noWorkspaces());
                graph.params().subi(graph.getFlattenedGradients().reshape(graph.params().shape()));
            }
            graph.setScore(loss + regularization);
            for (TrainingListener l : listeners) {
                l.iterationDone(graph, iteration, epoch);
            }
        }
        graph.getConfiguration().setIterationCount(iteration + 1);
    }

    /** The fused parameter update of the graph's current arrays, when the options ask for it and it applies. */
    private Optional<ParameterUpdate> fusedUpdate() {
        if (!options.fusedUpdate()) {
            return Optional.empty();
        }
        if (update == null || update.isEmpty() || !update.get().isCurrent(graph)) {
            update = ParameterUpdate.of(graph);
        }
        return update;
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
        return meanLoss(features, labels) + graph.calcRegularizationScore(true);
    }

    /**
     * The gradients of one batch, as {@link #computeGradientAndScore}; returns the mean loss without regularisation.
     */
    private double meanLoss(INDArray features, INDArray labels) {
        if (features.rank() != 4) {
            throw new IllegalArgumentException("compiled training takes [N, C, H, W] features, got "
                    + java.util.Arrays.toString(features.shape()));
        }
        long[] shape = features.shape();
        if (labels.rank() != 2 || labels.size(0) != shape[0] || labels.size(1) != output.out()) {
            throw new IllegalArgumentException("labels of " + java.util.Arrays.toString(labels.shape())
                    + " for " + shape[0] + " examples of layer '" + output.name() + "' (" + output.out()
                    + " classes)");
        }
        TrainingPlan plan = allocated(shape);
        INDArray x = HostArrays.contiguous(features.dataType() == DataType.FLOAT ? features
                : features.castTo(DataType.FLOAT));
        float[] y = labels.castTo(DataType.FLOAT).dup('c').data().asFloat();
        double loss = plan.run(x, y);
        lastOutput = plan.probabilities();
        return loss / shape[0];
    }

    /**
     * The classifier's softmax output of the last batch ({@code [N, classes]}), as the graph's
     * {@code output()} would have given it before that step's update; null before the first step.
     */
    public synchronized INDArray lastOutput() {
        return lastOutput == null ? null : Nd4j.create(lastOutput, lastOutput.length / output.out(), output.out());
    }

    /**
     * The step labels of the plan for input {@code shape} ([N, C, H, W]): oneDNN's implementation of each primitive.
     */
    public synchronized List<String> describe(long... shape) {
        return plan(shape).labels;
    }

    /**
     * Plans and allocates the buffers of training steps on inputs of {@code shape} ([N, C, H, W]) now,
     * so that a batch too large for the native memory allowed fails before the first step.
     *
     * @return the bytes allocated ({@link #plannedBytes})
     * @throws NativeMemory.TooLargeException naming the batch, the bytes needed and available, and the remedies
     */
    public synchronized long prepare(long... shape) {
        return allocated(shape).bytes();
    }

    /**
     * The native bytes a training step on inputs of {@code shape} ([N, C, H, W]) allocates for its
     * feature maps, gradients, workspaces and scratch space, beyond the graph's own parameters,
     * gradients and updater state; planned without allocating them.
     */
    public synchronized long plannedBytes(long... shape) {
        return plan(shape).bytes();
    }

    /** What {@link #plannedBytes} plans for inputs of {@code shape}, by what it holds; planned without allocating. */
    public synchronized MemoryPlan memoryPlan(long... shape) {
        return plan(shape).memoryPlan();
    }

    /** The allocated plan of {@code shape}, made the first time it is asked for. */
    private TrainingPlan allocated(long[] shape) {
        return plans.get(List.of(shape[0], shape[1], shape[2], shape[3]), () -> plan(shape).allocate());
    }

    /** A new plan of {@code shape}, not allocated. */
    private TrainingPlan plan(long[] shape) {
        return new TrainingPlan(graph, ir, options, shape);
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
                long at = TrainingPlan.offsetBytes(graph, layer.getKey(), key) / Float.BYTES;
                g.gradientForVariable().put(layer.getKey() + "_" + key,
                        flat.get(NDArrayIndex.interval(at, at + p.length())).reshape(p.ordering(), p.shape()));
            }
        }
        gradient = g;
        return g;
    }
}
