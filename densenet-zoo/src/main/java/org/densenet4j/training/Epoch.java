package org.densenet4j.training;

/**
 * One epoch's results.
 *
 * @param trainLoss       mean training loss over the epoch's batches (as the model scored them)
 * @param trainAccuracy   training accuracy over the epoch's batches
 * @param testLoss        mean cross-entropy on the test set after the epoch
 * @param testAccuracy    accuracy on the test set after the epoch
 * @param seconds         the epoch's training time (not the evaluation)
 * @param imagesPerSecond training images per second
 */
public record Epoch(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
        double seconds, double imagesPerSecond) {
}
