package org.densenet4j.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.UnaryOperator;
import org.densenet4j.dl4j.FastPath;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Serves predictions of one model to many threads. A {@link ComputationGraph} keeps per-call state
 * (layer inputs, workspaces) and must not run two forward passes at once; this keeps a fixed pool of
 * replicas, each used by one thread at a time, so that callers block only while every replica is busy.
 *
 * <pre>{@code
 * try (ConcurrentPredictor predictor = new ConcurrentPredictor(net, 2)) {
 *     INDArray probabilities = predictor.predict(images);   // from any thread
 * }
 * }</pre>
 *
 * <p>Each replica is a {@link CompiledGraph} of the model where it compiles (the zoo's inference
 * engine: outputs equal to {@code net.outputSingle(input)} to float rounding, and the model stays
 * free for other use), else a clone of the model (outputs identical; the model itself is then one
 * of the replicas and must not be used directly while the predictor is in use). Every replica holds
 * the parameters the model had when the predictor was made.
 */
public final class ConcurrentPredictor implements AutoCloseable {

    private final BlockingQueue<UnaryOperator<INDArray>> idle;
    private final List<ComputationGraph> graphs = new ArrayList<>();
    private final List<CompiledGraph> compiled = new ArrayList<>();
    private final int replicas;
    private volatile boolean closed;

    /** A predictor of {@code model} with {@code replicas} independent copies. */
    public ConcurrentPredictor(ComputationGraph model, int replicas) {
        this(model, replicas, EngineOptions.fromSystemProperties());
    }

    /** As {@link #ConcurrentPredictor(ComputationGraph, int)}, each replica compiled as {@code engine} says. */
    public ConcurrentPredictor(ComputationGraph model, int replicas, EngineOptions engine) {
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be >= 1, was " + replicas);
        }
        this.replicas = replicas;
        this.idle = new ArrayBlockingQueue<>(replicas);
        Optional<CompiledGraph> first = CompiledGraph.tryCompile(model, engine);
        if (first.isPresent()) {
            compiled.add(first.get());
            for (int i = 1; i < replicas; i++) {
                compiled.add(CompiledGraph.compile(model, engine));
            }
            compiled.forEach(c -> idle.add(c::outputSingle));
            return;
        }
        graphs.add(model);
        boolean fast = FastPath.runsIn(model);
        for (int i = 1; i < replicas; i++) {
            ComputationGraph copy = model.clone(); // DL4J's clone is built from the configuration: its own layers
            graphs.add(fast ? FastPath.install(copy) : copy);
        }
        for (ComputationGraph net : graphs) {
            // detach: the result must outlive this replica's workspaces
            idle.add(x -> net.outputSingle(false, x).detach());
        }
    }

    /**
     * The model's output for {@code input}, in inference mode. Safe to call from any number of threads.
     *
     * @throws IllegalStateException if the predictor is closed, or the thread is interrupted while
     *         waiting for a replica
     */
    public INDArray predict(INDArray input) {
        if (closed) {
            throw new IllegalStateException("the predictor is closed");
        }
        UnaryOperator<INDArray> replica;
        try {
            replica = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free model replica", e);
        }
        try {
            return replica.apply(input);
        } finally {
            idle.add(replica);
        }
    }

    /** Number of replicas, i.e. of forward passes that can run at once. */
    public int replicas() {
        return replicas;
    }

    /** The compiled replicas (empty when the replicas are clones of the model), for tests. */
    List<CompiledGraph> compiledReplicas() {
        return List.copyOf(compiled);
    }

    /** Releases every replica's memory, native memory included; waits for running predictions to finish. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = 0; i < replicas; i++) {
            try {
                idle.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        compiled.forEach(CompiledGraph::close);
        graphs.forEach(ComputationGraph::close);
    }
}
