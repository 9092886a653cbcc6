/**
 * The training loop as library code: {@link org.densenet4j.training.TrainingStep} (a compiled step,
 * else DL4J's {@code fit()}), {@link org.densenet4j.training.Trainer} (epochs, shuffles, augmentation,
 * evaluation), {@link org.densenet4j.training.Checkpoint} (resumable runs), and what they use.
 */
package org.densenet4j.training;
