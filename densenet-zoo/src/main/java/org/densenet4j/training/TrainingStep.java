package org.densenet4j.training;

import java.util.Optional;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledTrainer;
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

    private TrainingStep(ComputationGraph net, CompiledTrainer trainer) {
        this.net = net;
        this.trainer = trainer;
        if (trainer == null) {
            net.setListeners(accuracy); // fit() reports its forward passes to listeners
        }
    }

    /** Steps on {@code net}: compiled when {@code compiled} and the engine can run it, else through {@code fit()}. */
    public static TrainingStep of(ComputationGraph net, boolean compiled) {
        return new TrainingStep(net, compiled ? CompiledTrainer.tryCompile(net).orElse(null) : null);
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
        return trainer != null ? "compiled training steps" : "the graph's fit()";
    }

    /**
     * Plans the buffers of steps on inputs of {@code shape} now (compiled steps), so a batch that
     * cannot fit fails before the first step.
     *
     * @throws NativeMemory.TooLargeException naming the batch, the bytes needed and available
     */
    public void prepare(long... shape) {
        if (trainer != null) {
            trainer.prepare(shape);
        }
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
