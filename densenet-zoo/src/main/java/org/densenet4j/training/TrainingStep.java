package org.densenet4j.training;

import java.util.Optional;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledTrainer;
import org.densenet4j.engine.EngineOptions;
import org.densenet4j.engine.NativeMemory;
import org.nd4j.linalg.dataset.api.DataSet;

/**
 * A training step on a graph, the zoo's default way: the compiled trainer where it runs the graph,
 * else the graph's own {@code fit()}; the batches' training accuracy counted either way.
 */
public final class TrainingStep {

    private final ComputationGraph net;
    private final CompiledTrainer trainer;
    private final BatchAccuracy accuracy = new BatchAccuracy();
    private final boolean memoryEfficient;

    private TrainingStep(ComputationGraph net, CompiledTrainer trainer, boolean memoryEfficient) {
        this.net = net;
        this.trainer = trainer;
        this.memoryEfficient = memoryEfficient;
        if (trainer == null) {
            net.setListeners(accuracy); // fit() reports its forward passes to listeners
        }
    }

    /** Steps on {@code net}: compiled when {@code compiled} and the engine can run it, else through {@code fit()}. */
    public static TrainingStep of(ComputationGraph net, boolean compiled) {
        return of(net, compiled, false);
    }

    /**
     * As {@link #of(ComputationGraph, boolean)}, the compiled steps memory-efficient when
     * {@code memoryEfficient} (see {@link EngineOptions#memoryEfficient()}); {@code fit()} has no
     * such mode, so a graph the engine cannot run trains as usual.
     */
    public static TrainingStep of(ComputationGraph net, boolean compiled, boolean memoryEfficient) {
        EngineOptions options = EngineOptions.fromSystemProperties();
        if (memoryEfficient) {
            options = options.withMemoryEfficient(true);
        }
        CompiledTrainer trainer = compiled ? CompiledTrainer.tryCompile(net, options).orElse(null) : null;
        return new TrainingStep(net, trainer, options.memoryEfficient());
    }

    /** The graph trained. */
    public ComputationGraph graph() {
        return net;
    }

    /** The compiled trainer, when steps run compiled. */
    public Optional<CompiledTrainer> compiled() {
        return Optional.ofNullable(trainer);
    }

    /** What runs the steps, for a log line: "compiled training steps" or "the graph's fit()". */
    public String describe() {
        return trainer == null ? "the graph's fit()" + (memoryEfficient ? " (memory-efficient steps need the "
                + "compiled engine, which cannot run this model)" : "")
                : memoryEfficient ? "compiled memory-efficient training steps" : "compiled training steps";
    }

    /**
     * Plans the buffers of steps on inputs of {@code shape} now (compiled steps), so a batch that
     * cannot fit fails before the first step.
     *
     * @return the native bytes the compiled steps planned and allocated beyond the graph's own
     *         arrays, or -1 for {@code fit()} (which plans nothing)
     * @throws NativeMemory.TooLargeException naming the batch, the bytes needed and available
     */
    public long prepare(long... shape) {
        return trainer != null ? trainer.prepare(shape) : -1;
    }

    /** One step on {@code batch}, counting its training accuracy. */
    public void fit(DataSet batch) {
        accuracy.labels(batch.getLabels());
        if (trainer != null) {
            trainer.fit(batch);
            accuracy.add(trainer.lastOutput());
        } else {
            net.fit(batch);
        }
    }

    /** The last step's score (mean loss plus regularisation). */
    public double score() {
        return net.score();
    }

    /** The accuracy of the batches since the last {@link BatchAccuracy#reset()}. */
    public BatchAccuracy accuracy() {
        return accuracy;
    }

    /** Takes the accuracy listener off the graph. */
    public void finish() {
        net.setListeners();
    }
}
