package org.densenet4j.zoo;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

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
 * <p>Outputs are identical to {@code net.outputSingle(input)}: every replica holds a copy of the
 * same parameters.
 */
public final class ConcurrentPredictor implements AutoCloseable {

    private final BlockingQueue<ComputationGraph> idle;
    private final int replicas;

    /**
     * A predictor of {@code model} with {@code replicas} independent copies (the model itself is
     * one of them and must not be used directly while the predictor is in use).
     */
    public ConcurrentPredictor(ComputationGraph model, int replicas) {
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be >= 1, was " + replicas);
        }
        this.replicas = replicas;
        this.idle = new ArrayBlockingQueue<>(replicas);
        idle.add(model);
        boolean fast = FastPath.runsIn(model);
        for (int i = 1; i < replicas; i++) {
            ComputationGraph copy = model.clone(); // DL4J's clone is built from the configuration: its own layers
            idle.add(fast ? FastPath.install(copy) : copy);
        }
    }

    /**
     * The model's output for {@code input}, in inference mode. Safe to call from any number of threads.
     *
     * @throws IllegalStateException if the thread is interrupted while waiting for a replica
     */
    public INDArray predict(INDArray input) {
        ComputationGraph net;
        try {
            net = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free model replica", e);
        }
        try {
            // detach: the result must outlive this replica's workspaces
            return net.outputSingle(false, input).detach();
        } finally {
            idle.add(net);
        }
    }

    /** Number of replicas, i.e. of forward passes that can run at once. */
    public int replicas() {
        return replicas;
    }

    /** Releases the replicas' memory; waits for running predictions to finish. */
    @Override
    public void close() {
        for (int i = 0; i < replicas; i++) {
            try {
                idle.take().close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
