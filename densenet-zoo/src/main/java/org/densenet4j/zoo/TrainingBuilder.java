package org.densenet4j.zoo;

import java.util.Objects;

import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The training setters shared by the builders of the zoo's configurations: each builder holds one
 * {@link TrainingSettings}, set whole with {@link #training} or one value at a time.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class TrainingBuilder<B extends TrainingBuilder<B>> {

    private TrainingSettings training;

    /** A builder starting from {@code defaults}. */
    protected TrainingBuilder(TrainingSettings defaults) {
        this.training = Objects.requireNonNull(defaults, "training must not be null");
    }

    /** The training settings, whole. */
    public B training(TrainingSettings settings) {
        this.training = Objects.requireNonNull(settings, "training must not be null");
        return self();
    }

    /** Random seed of the weight initialisation. */
    public B seed(long seed) {
        return training(training.withSeed(seed));
    }

    /** Optimiser used when training. */
    public B updater(IUpdater updater) {
        return training(training.withUpdater(updater));
    }

    /**
     * L2 regularisation coefficient.
     *
     * @throws IllegalArgumentException when it is negative or not finite
     */
    public B weightDecay(double weightDecay) {
        return training(training.withWeightDecay(weightDecay));
    }

    /** The training settings set so far, for {@code build()}. */
    protected final TrainingSettings trainingSettings() {
        return training;
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
